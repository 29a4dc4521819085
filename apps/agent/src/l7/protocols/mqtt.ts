/**
 * MQTT 3.1, 3.1.1 and 5: fixed header + remaining length, CONNECT (client id; username and
 * password never read) ↔ CONNACK return/reason code, PUBLISH (topic, QoS: 0 one-way, 1 ↔ PUBACK,
 * 2 ↔ PUBREC then PUBREL ↔ PUBCOMP), SUBSCRIBE ↔ SUBACK, UNSUBSCRIBE ↔ UNSUBACK, PINGREQ ↔
 * PINGRESP, DISCONNECT and AUTH one-way. Packet-id exchanges pair on (sender side, kind, id),
 * so broker-originated PUBLISHes and client ones never mix.
 */
import { u16, utf8 } from "../bytes.ts";
import type { L7Parser, ParseContext, ProtocolSpec } from "../types.ts";

export const MQTT_TYPES = [
  "",
  "CONNECT",
  "CONNACK",
  "PUBLISH",
  "PUBACK",
  "PUBREC",
  "PUBREL",
  "PUBCOMP",
  "SUBSCRIBE",
  "SUBACK",
  "UNSUBSCRIBE",
  "UNSUBACK",
  "PINGREQ",
  "PINGRESP",
  "DISCONNECT",
  "AUTH",
];
const MAX_PACKET = 256 * 1024 * 1024;

/** Remaining length varint at o: [value, bytes] or null (incomplete) or [-1, 0] (malformed). */
function remLen(b: Uint8Array, o: number, end: number): [number, number] | null {
  let v = 0;
  let mul = 1;
  for (let i = 0; i < 4; i++) {
    if (o + i >= end) return null;
    const c = b[o + i]!;
    v += (c & 127) * mul;
    if ((c & 128) === 0) return [v, i + 1];
    mul *= 128;
  }
  return [-1, 0];
}

class MqttParser implements L7Parser {
  private version = "";
  private level = 4;

  parse(ctx: ParseContext, dir: 0 | 1, b: Uint8Array, off: number, end: number): number {
    if (end - off < 2) return 0;
    const h = b[off]!;
    const type = h >> 4;
    const rl = remLen(b, off + 1, end);
    if (rl === null) return 0;
    if (rl[0] < 0 || rl[0] > MAX_PACKET || type === 0) return -1;
    const vh = off + 1 + rl[1];
    const total = 1 + rl[1] + rl[0];
    const e = Math.min(end, off + total);
    // Headers we read sit in the first bytes; wait for them when the packet is small.
    if (end < off + total && total <= 4096) return 0;
    const name = MQTT_TYPES[type]!;
    const len = rl[0];
    const id = (k: number, side: number) => (side << 20) | (k << 16) | (vh + 2 <= e ? u16(b, vh) : 0);
    switch (type) {
      case 1: {
        // CONNECT: protocol name, level, flags, keepalive, [props], client id
        // A large CONNECT split before its level byte waits for it (past `e` lie other bytes).
        if (vh + 2 > e) return e < off + total ? 0 : total;
        const pn = u16(b, vh);
        let p = vh + 2 + pn;
        if (p >= e && p < off + total) return 0;
        this.level = p < e ? b[p]! : 4;
        this.version = this.level === 5 ? "5.0" : this.level === 4 ? "3.1.1" : "3.1";
        p += 4;
        if (this.level === 5 && p < e) {
          const pl = remLen(b, p, e);
          if (pl && pl[0] >= 0) p += pl[1] + pl[0];
        }
        const cid = p + 2 <= e ? utf8(b, p + 2, Math.min(e, p + 2 + u16(b, p)), 128) : "";
        ctx.request({ version: this.version, type: name, domain: cid, length: len });
        return total;
      }
      case 2: {
        const rc = vh + 2 <= e ? b[vh + 1]! : 0;
        ctx.response({
          version: this.version,
          status: rc === 0 ? "ok" : rc >= 0x80 && rc < 0x87 ? "server_error" : "client_error",
          code: rc,
          length: len,
        });
        return total;
      }
      case 3: {
        const qos = (h >> 1) & 3;
        // A large PUBLISH whose segment ends inside its topic or packet id waits for them: its
        // answer pairs by that id.
        if (vh + 2 > end && vh + 2 <= off + total) return 0;
        const tl = vh + 2 <= e ? u16(b, vh) : 0;
        const head = vh + 2 + tl + (qos > 0 ? 2 : 0);
        if (head > end && head <= off + total) return 0;
        const topic = utf8(b, vh + 2, Math.min(e, vh + 2 + tl), 256);
        const pidAt = vh + 2 + tl;
        const pid = qos > 0 && pidAt + 2 <= e ? u16(b, pidAt) : 0;
        ctx.request({
          key: (dir << 20) | ((qos === 2 ? 2 : 1) << 16) | pid,
          oneWay: qos === 0,
          version: this.version,
          type: name,
          domain: topic,
          resource: topic,
          endpoint: topic,
          length: len,
        });
        return total;
      }
      case 4: // PUBACK answers a QoS 1 PUBLISH of the other side
      case 5: // PUBREC answers a QoS 2 PUBLISH
      case 7: {
        // PUBCOMP answers PUBREL
        const kind = type === 4 ? 1 : type === 5 ? 2 : 3;
        const rc = this.level === 5 && len >= 3 && vh + 2 < e ? b[vh + 2]! : 0;
        ctx.response({
          key: id(kind, dir ^ 1),
          version: this.version,
          status: rc < 0x80 ? "ok" : "server_error",
          code: rc,
          length: len,
        });
        return total;
      }
      case 6:
        ctx.request({ key: id(3, dir), version: this.version, type: name, length: len });
        return total;
      case 8:
      case 10: {
        // (UN)SUBSCRIBE: packet id, [props], first topic filter
        let p = vh + 2;
        if (this.level === 5 && p < e) {
          const pl = remLen(b, p, e);
          if (pl && pl[0] >= 0) p += pl[1] + pl[0];
        }
        const topic = p + 2 <= e ? utf8(b, p + 2, Math.min(e, p + 2 + u16(b, p)), 256) : "";
        ctx.request({
          key: id(type === 8 ? 4 : 5, dir),
          version: this.version,
          type: name,
          domain: topic,
          resource: topic,
          endpoint: topic,
          length: len,
        });
        return total;
      }
      case 9:
      case 11: {
        // SUBACK/UNSUBACK: packet id, [props], codes (0x80+ = failure)
        let p = vh + 2;
        if (this.level === 5 && p < e) {
          const pl = remLen(b, p, e);
          if (pl && pl[0] >= 0) p += pl[1] + pl[0];
        }
        const rc = p < e ? b[p]! : 0;
        ctx.response({
          key: id(type === 9 ? 4 : 5, dir ^ 1),
          version: this.version,
          status: rc >= 0x80 ? "client_error" : "ok",
          code: rc,
          length: len,
        });
        return total;
      }
      case 12:
        ctx.request({ key: (dir << 20) | (6 << 16), version: this.version, type: name, length: len });
        return total;
      case 13:
        ctx.response({
          key: ((dir ^ 1) << 20) | (6 << 16),
          version: this.version,
          status: "ok",
          length: len,
        });
        return total;
      case 14:
      case 15:
        ctx.request({ oneWay: true, version: this.version, type: name, length: len });
        return total;
    }
    return -1;
  }
}

export const mqtt: ProtocolSpec = {
  name: "mqtt",
  ports: [1883, 8883, 1884],
  transport: "tcp",
  detect(b, off, end) {
    // CONNECT with protocol name "MQTT" (3.1.1/5) or "MQIsdp" (3.1).
    if (b[off] !== 0x10 || end - off < 12) return 0;
    const rl = remLen(b, off + 1, end);
    if (rl === null || rl[0] < 10) return 0;
    const p = off + 1 + rl[1];
    const pn = u16(b, p);
    if (pn === 4 && b[p + 2] === 77 && b[p + 3] === 81 && b[p + 4] === 84 && b[p + 5] === 84) return 1;
    if (pn === 6 && b[p + 2] === 77 && b[p + 3] === 81 && b[p + 4] === 73) return 1;
    return 0;
  },
  create: () => new MqttParser(),
};
