/**
 * AMQP 0-9-1 (RabbitMQ): protocol header, frames (type, channel, size, payload, 0xCE). Method
 * frames become rows: synchronous methods pair with their -Ok on the same channel (either side
 * may ask: connection.start/tune come from the server); basic.publish, basic.deliver, basic.ack
 * and other asynchronous methods are one-way rows. connection.start-ok (credentials) is never
 * read beyond its ids. Content header/body frames are skipped.
 */
import { i32, latin1, u16 } from "../bytes.ts";
import type { L7Parser, ParseContext, ProtocolSpec } from "../types.ts";

const CLASSES: Record<number, string> = {
  10: "connection",
  20: "channel",
  40: "exchange",
  50: "queue",
  60: "basic",
  85: "confirm",
  90: "tx",
};
const METHODS: Record<number, string> = {
  // class*1000 + method
  10010: "start",
  10011: "start-ok",
  10020: "secure",
  10021: "secure-ok",
  10030: "tune",
  10031: "tune-ok",
  10040: "open",
  10041: "open-ok",
  10050: "close",
  10051: "close-ok",
  20010: "open",
  20011: "open-ok",
  20020: "flow",
  20021: "flow-ok",
  20040: "close",
  20041: "close-ok",
  40010: "declare",
  40011: "declare-ok",
  40020: "delete",
  40021: "delete-ok",
  40030: "bind",
  40031: "bind-ok",
  40040: "unbind",
  40051: "unbind-ok",
  50010: "declare",
  50011: "declare-ok",
  50020: "bind",
  50021: "bind-ok",
  50030: "purge",
  50031: "purge-ok",
  50040: "delete",
  50041: "delete-ok",
  50050: "unbind",
  50051: "unbind-ok",
  60010: "qos",
  60011: "qos-ok",
  60020: "consume",
  60021: "consume-ok",
  60030: "cancel",
  60031: "cancel-ok",
  60040: "publish",
  60050: "return",
  60060: "deliver",
  60070: "get",
  60071: "get-ok",
  60072: "get-empty",
  60080: "ack",
  60090: "reject",
  60100: "recover-async",
  60110: "recover",
  60111: "recover-ok",
  60120: "nack",
  85010: "select",
  85011: "select-ok",
  90010: "select",
  90011: "select-ok",
  90020: "commit",
  90021: "commit-ok",
  90030: "rollback",
  90031: "rollback-ok",
};
/** method id → the -ok id answering it (synchronous requests). */
const REPLY: Record<number, number> = {
  10010: 10011,
  10020: 10021,
  10030: 10031,
  10040: 10041,
  10050: 10051,
  20010: 20011,
  20020: 20021,
  20040: 20041,
  40010: 40011,
  40020: 40021,
  40030: 40031,
  40040: 40051,
  50010: 50011,
  50020: 50021,
  50030: 50031,
  50040: 50041,
  50050: 50051,
  60010: 60011,
  60020: 60021,
  60030: 60031,
  60070: 60071,
  60110: 60111,
  85010: 85011,
  90010: 90011,
  90020: 90021,
  90030: 90031,
};
const RESPONSES = new Map<number, number>();
for (const [k, v] of Object.entries(REPLY)) RESPONSES.set(v, Number(k));
RESPONSES.set(60072, 60070);

function shortstr(b: Uint8Array, o: number, end: number): [string, number] {
  if (o >= end) return ["", end];
  const l = b[o]!;
  return [latin1(b, o + 1, Math.min(end, o + 1 + l), 255), o + 1 + l];
}

class AmqpParser implements L7Parser {
  private headerSeen = false;
  /** Outstanding synchronous request per (side, channel): key, so a close can answer it. */
  private readonly open = new Map<number, number>();

  parse(ctx: ParseContext, dir: 0 | 1, b: Uint8Array, off: number, end: number): number {
    if (dir === 0 && !this.headerSeen && b[off] === 65) {
      if (end - off < 8) return 0;
      this.headerSeen = true;
      return 8;
    }
    if (end - off < 7) return 0;
    const type = b[off]!;
    const ch = u16(b, off + 1);
    const size = i32(b, off + 3);
    if (type < 1 || type > 8 || size < 0 || size > 128 * 1024 * 1024) return -1;
    const total = 8 + size;
    if (type !== 1) return total;
    if (end - off < total && total <= 16 * 1024) return 0;
    if (end - off >= total && b[off + total - 1] !== 0xce) return -1;
    // Class and method ids: a frame too short for them is skipped, a large one split before
    // them waits for them (past `end` lie other bytes).
    if (size < 4) return total;
    if (end - off < 11) return 0;
    const cls = u16(b, off + 7);
    const mth = u16(b, off + 9);
    const id = cls * 1000 + mth;
    const name = `${CLASSES[cls] ?? cls}.${METHODS[id] ?? mth}`;
    const e = Math.min(end, off + 7 + size);
    const args = off + 11;
    const req = REPLY[id];
    const answers = RESPONSES.get(id);
    if (answers !== undefined) {
      this.open.delete(((dir ^ 1) << 16) | ch);
      ctx.response({ key: ((dir ^ 1) << 30) + ch * 100000 + answers, status: "ok", length: size });
      return total;
    }
    let domain = "";
    let resource = "";
    let code = 0;
    if (id === 60040) {
      // basic.publish: reserved short, exchange, routing key
      const ex = shortstr(b, args + 2, e);
      domain = ex[0];
      resource = shortstr(b, ex[1], e)[0];
    } else if (id === 60060) {
      // basic.deliver: consumer tag, delivery tag(8), redelivered, exchange, routing key
      const tag = shortstr(b, args, e);
      const ex = shortstr(b, tag[1] + 9, e);
      domain = ex[0];
      resource = shortstr(b, ex[1], e)[0];
    } else if (id === 50010 || id === 60020 || id === 60070 || id === 50020) {
      // queue.declare / basic.consume / basic.get / queue.bind: reserved short, queue
      resource = shortstr(b, args + 2, e)[0];
    } else if (id === 40010) {
      domain = shortstr(b, args + 2, e)[0];
    } else if (id === 10040) {
      domain = shortstr(b, args, e)[0];
    } else if (id === 10050 || id === 20040) {
      code = args + 2 <= e ? u16(b, args) : 0;
      resource = shortstr(b, args + 2, e)[0];
      // A close with an error code answers what the other side was waiting for on that channel
      // (a passive declare of a missing queue gets channel.close 404 instead of declare-ok).
      const k = ((dir ^ 1) << 16) | (id === 10050 ? 0 : ch);
      const pend = this.open.get(k) ?? (id === 10050 ? this.open.get(((dir ^ 1) << 16) | ch) : undefined);
      if (code !== 200 && pend !== undefined) {
        this.open.delete(k);
        ctx.response({
          key: pend,
          status: code >= 500 ? "server_error" : "client_error",
          code,
          exception: resource,
          length: size,
        });
      }
    }
    if (req !== undefined) {
      if (id !== 10050 && id !== 20040 && this.open.size < 1024)
        this.open.set((dir << 16) | ch, (dir << 30) + ch * 100000 + id);
      ctx.request({
        key: (dir << 30) + ch * 100000 + id,
        version: "0-9-1",
        type: name,
        domain,
        resource: code && code !== 200 ? `${code} ${resource}` : resource,
        endpoint: resource || domain || name,
        length: size,
      });
    } else {
      ctx.request({
        oneWay: true,
        version: "0-9-1",
        type: name,
        domain,
        resource,
        endpoint: resource || domain || name,
        length: size,
      });
    }
    return total;
  }
}

export const amqp: ProtocolSpec = {
  name: "amqp",
  ports: [5672, 5671],
  transport: "tcp",
  detect(b, off, end) {
    if (
      end - off >= 8 &&
      b[off] === 65 &&
      b[off + 1] === 77 &&
      b[off + 2] === 81 &&
      b[off + 3] === 80 &&
      b[off + 4] === 0
    )
      return 1;
    // connection.start from the server (frame type 1, channel 0, class 10 method 10)
    if (
      end - off >= 12 &&
      b[off] === 1 &&
      u16(b, off + 1) === 0 &&
      u16(b, off + 7) === 10 &&
      u16(b, off + 9) === 10
    )
      return 2;
    return 0;
  },
  create: () => new AmqpParser(),
};
