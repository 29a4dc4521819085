/**
 * Parsers read only the bytes of their window [off, end): past it lie other packets' bytes (a
 * capture block) or stale ones (a reassembly buffer), or nothing at all (undefined).
 */
import { describe, expect, it } from "vitest";
import { http2 } from "../../src/l7/protocols/http2.ts";
import { be16, be32, harness, hex } from "./harness.ts";

describe("reads stay within the window", () => {
  it("MQTT: a large CONNECT split before its level byte waits for it", () => {
    // 3.1 CONNECT ("MQIsdp"), client id "client", a password filling it past 16 KiB: its
    // remaining length takes 3 bytes, so the first 12 bytes (enough for detection) end right
    // before the level byte.
    const vh = Buffer.concat([hex("0006 4d5149736470 03 c2 003c"), be16(6), Buffer.from("client")]);
    const body = Buffer.concat([vh, be16(20_000), Buffer.alloc(20_000, 0x61)]);
    const n = body.length;
    const connect = Buffer.concat([
      hex("10"),
      Buffer.from([(n & 127) | 128, ((n >> 7) & 127) | 128, n >> 14]),
      body,
    ]);
    const h = harness({ serverPort: 1883 });
    h.send(0, connect.subarray(0, 12));
    h.send(0, connect.subarray(12));
    h.send(1, hex("20 02 00 00"));
    h.l7.flush(h.now);
    expect(h.rows.map((r) => [r.request_type, r.request_domain, r.version, r.response_status])).toEqual([
      ["CONNECT", "client", "3.1", "ok"],
    ]);
  });

  it("AMQP: a large method frame split before its class and method ids waits for them", () => {
    // basic.publish to exchange "ex", routing key "rk", arguments padded past 16 KiB.
    const args = Buffer.concat([hex("003c 0028 0000 02"), Buffer.from("ex"), hex("02"), Buffer.from("rk")]);
    const payload = Buffer.concat([args, Buffer.alloc(20_000)]);
    const frame = Buffer.concat([hex("01 0001"), be32(payload.length), payload, hex("ce")]);
    for (const cut of [7, 9]) {
      const h = harness({ serverPort: 5672 });
      h.send(0, hex("414d5150 00000901"));
      h.send(0, frame.subarray(0, cut));
      h.send(0, frame.subarray(cut));
      h.l7.flush(h.now);
      expect(h.rows.map((r) => [r.request_type, r.request_domain, r.request_resource])).toEqual([
        ["basic.publish", "ex", "rk"],
      ]);
    }
  });

  it("AMQP: a method frame too short for its class and method ids is skipped, not read past", () => {
    const h = harness({ serverPort: 5672 });
    h.send(0, hex("414d5150 00000901"));
    h.send(0, hex("01 0001 00000000 ce"));
    const args = Buffer.concat([hex("003c 0028 0000 02"), Buffer.from("ex"), hex("00 00")]);
    h.send(0, Buffer.concat([hex("01 0001"), be32(args.length), args, hex("ce")]));
    h.l7.flush(h.now);
    expect(h.rows.map((r) => [r.request_type, r.request_domain])).toEqual([["basic.publish", "ex"]]);
  });

  it("TLS: a zero-length handshake record reads no type past itself (a stale byte made it a ServerHello)", () => {
    const h = harness({ serverPort: 443 });
    const body = Buffer.concat([hex("0303"), Buffer.alloc(32), hex("00 0002 1301 01 00")]);
    const ch = Buffer.concat([hex("01 00"), be16(body.length), body]);
    h.send(0, Buffer.concat([hex("16 0301"), be16(ch.length), ch]));
    // Through the reassembly buffer: the record of length 1 leaves 0x02 right after the window
    // that the zero-length handshake record ends.
    h.send(1, hex("17 0303"));
    h.send(1, hex("0001 02 16 0303 00"));
    h.send(1, hex("00"));
    const sh = Buffer.concat([hex("0303"), Buffer.alloc(32), hex("00 1301 00 0006 002b 0002 0304")]);
    const shs = Buffer.concat([hex("02 00"), be16(sh.length), sh]);
    const rec = Buffer.concat([hex("16 0303"), be16(shs.length), shs]);
    h.send(1, rec);
    h.l7.flush(h.now);
    expect(h.rows.map((r) => [r.request_type, r.response_status, r.response_length])).toEqual([
      ["ClientHello", "ok", rec.length],
    ]);
  });

  it("HTTP/2: a padded HEADERS frame of length 0 ending the buffer is refused, not read past", () => {
    // A 9-byte buffer: the frame's window ends with the reassembly buffer itself.
    const h = harness({ serverPort: 50051, maxBufferPerDir: 9 });
    h.send(0, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    const frame = hex("000000 01 0d 00000001"); // HEADERS, END_STREAM | END_HEADERS | PADDED
    h.send(0, frame.subarray(0, 4));
    h.send(0, frame.subarray(4));
    h.l7.flush(h.now);
    expect(h.rows.map((r) => r.request_length)).toEqual([]);
    expect(h.l7.stats().parseErrors).toBe(1);
  });

  it("HTTP/2 detection: a HEADERS frame without block bytes reads none past the frame", () => {
    // HEADERS carrying only a priority; the next byte (another packet's) would read as :method GET.
    const frame = hex("000005 01 20 00000001 0000000010");
    const b = Buffer.concat([frame, hex("82")]);
    // Called directly: the harness pads past the payload with zeros, which read as nothing.
    expect(http2.detect(b, 0, frame.length, false, true)).toBe(0);
  });

  it("MQTT: a large PUBLISH whose first segment ends before its topic and packet id waits for them", () => {
    // 3.1.1, QoS 1 PUBLISH "sensors/t1" id 7 with a 10 000-byte payload, sent as its fixed
    // header alone, then the rest; the PUBACK must pair with it by packet id.
    const h = harness({ serverPort: 1883 });
    h.send(0, hex("10 10 0004 4d515454 04 02 003c 0004 636c6931"));
    h.send(1, hex("20 02 00 00"));
    const vh = Buffer.concat([be16(10), Buffer.from("sensors/t1"), be16(7)]);
    const rest = Buffer.concat([vh, Buffer.alloc(10_000, 0x41)]);
    const n = rest.length;
    h.send(0, Buffer.from([0x32, (n & 127) | 128, n >> 7]));
    h.send(0, rest);
    h.send(1, hex("40 02 0007"));
    h.l7.flush(h.now);
    const pub = h.rows.find((r) => r.request_type === "PUBLISH")!;
    expect([pub.request_domain, pub.response_status]).toEqual(["sensors/t1", "ok"]);
    expect(h.l7.stats().orphanResponses).toBe(0);
  });

  it("HTTP/2: an RST_STREAM split after its frame header waits for its code", () => {
    const h = harness({ serverPort: 8080 });
    const frame = (type: number, flags: number, sid: number, payload: Buffer) =>
      Buffer.concat([
        Buffer.from([payload.length >> 16, (payload.length >> 8) & 255, payload.length & 255, type, flags]),
        be32(sid),
        payload,
      ]);
    h.send(
      0,
      Buffer.concat([Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), frame(4, 0, 0, Buffer.alloc(0))]),
    );
    h.send(1, frame(4, 0, 0, Buffer.alloc(0)));
    h.send(0, frame(1, 5, 1, hex("82 86 84"))); // GET http / on stream 1, END_STREAM | END_HEADERS
    const rst = frame(3, 0, 1, be32(8)); // CANCEL
    h.send(1, rst.subarray(0, 9));
    h.send(1, rst.subarray(9));
    h.l7.flush(h.now);
    expect(h.rows.map((r) => [r.request_type, r.response_status, r.response_exception])).toEqual([
      ["GET", "ok", "RST_STREAM 8"],
    ]);
  });

  it("Kafka: a request too short for its header is skipped, not completed with the next one's bytes", () => {
    const h = harness({ serverPort: 9092 });
    // Metadata v1 requests, client id "c", no topics (-1).
    const req = (corr: number) => {
      const body = Buffer.concat([be16(3), be16(1), be32(corr), be16(1), Buffer.from("c"), hex("ffffffff")]);
      return Buffer.concat([be32(body.length), body]);
    };
    const resp = (corr: number) => Buffer.concat([be32(8), be32(corr), be32(0)]);
    // Between the two, a "request" of size 6 (api 3, version 1, two bytes): its correlation id
    // would have taken the next request's first two bytes.
    h.send(0, Buffer.concat([req(1), be32(6), be16(3), be16(1), hex("0000"), req(2)]));
    h.send(1, Buffer.concat([resp(1), resp(2)]));
    h.l7.flush(h.now);
    expect(h.rows.map((r) => [r.request_type, r.response_status])).toEqual([
      ["Metadata", "ok"],
      ["Metadata", "ok"],
    ]);
  });

  it("TLS: an alert record under 2 bytes reads no description past itself", () => {
    const h = harness({ serverPort: 443 });
    const body = Buffer.concat([hex("0303"), Buffer.alloc(32), hex("00 0002 1301 01 00")]);
    const ch = Buffer.concat([hex("01 00"), be16(body.length), body]);
    h.send(0, Buffer.concat([hex("16 0301"), be16(ch.length), ch]));
    const sh = Buffer.concat([hex("0303"), Buffer.alloc(32), hex("00 1301 00 0006 002b 0002 0304")]);
    const shs = Buffer.concat([hex("02 00"), be16(sh.length), sh]);
    const rec = Buffer.concat([hex("16 0303"), be16(shs.length), shs]);
    // A 1-byte alert, then the ServerHello: its first byte (22) was read as the description.
    h.send(1, Buffer.concat([hex("15 0303 0001 02"), rec]));
    h.l7.flush(h.now);
    expect(h.rows.map((r) => [r.request_type, r.response_status, r.response_code])).toEqual([
      ["ClientHello", "ok", 0],
    ]);
  });
});
