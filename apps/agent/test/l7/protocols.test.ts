import { ZApplicationMetricsRow } from "@flowplane/query/rows";
import { describe, expect, it } from "vitest";
import { APP_LATENCY_BUCKETS_US } from "../../src/l7/app-metrics.ts";
import { normalizeSql } from "../../src/l7/sql-normalize.ts";
import { be16, be32, harness, hex } from "./harness.ts";

function str16(s: string) {
  return Buffer.concat([be16(s.length), Buffer.from(s)]);
}

describe("trace context and privacy", () => {
  const req = (headers: string) => `GET / HTTP/1.1\r\nHost: h\r\n${headers}\r\n`;
  const one = (headers: string, opts = {}) => {
    const h = harness(opts);
    h.send(0, req(headers));
    h.send(1, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    h.l7.flush(h.now);
    return h.rows[0]!;
  };

  it("W3C traceparent, X-Request-ID", () => {
    const r = one(
      "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\nX-Request-ID: abc-123\r\n",
    );
    expect([r.trace_id, r.span_id, r.x_request_id]).toEqual([
      "4bf92f3577b34da6a3ce929d0e0e4736",
      "00f067aa0ba902b7",
      "abc-123",
    ]);
  });
  it("B3 single and multi header", () => {
    const s = one("b3: 80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90\r\n");
    expect([s.trace_id, s.span_id, s.parent_span_id]).toEqual([
      "80f198ee56343ba864fe8b2a57d3eff7",
      "e457b5a2e4d86bd1",
      "05e3ac9a4f6e3b90",
    ]);
    const m = one(
      "X-B3-TraceId: 463ac35c9f6413ad48485a3953bb6124\r\nX-B3-SpanId: a2fb4a1d1a96d312\r\nX-B3-ParentSpanId: 0020000000000001\r\n",
    );
    expect([m.trace_id, m.span_id, m.parent_span_id]).toEqual([
      "463ac35c9f6413ad48485a3953bb6124",
      "a2fb4a1d1a96d312",
      "0020000000000001",
    ]);
  });
  it("SkyWalking sw8 and Jaeger uber-trace-id", () => {
    const tid = Buffer.from("trace-1").toString("base64");
    const seg = Buffer.from("segment-9").toString("base64");
    const sw = one(`sw8: 1-${tid}-${seg}-3-c2Vydg==-aW5zdA==-L2Vw-dGFyZ2V0\r\n`);
    expect([sw.trace_id, sw.span_id]).toEqual(["trace-1", "segment-9-3"]);
    const j = one("uber-trace-id: 5af7183fb1d4cf5f%3A6af7183fb1d4cf5f%3A0%3A1\r\n");
    expect([j.trace_id, j.span_id, j.parent_span_id]).toEqual(["5af7183fb1d4cf5f", "6af7183fb1d4cf5f", ""]);
  });
  it("configured trace header names; Authorization and Cookie never reach a row, even when configured", () => {
    const r = one("X-My-Trace: t-42\r\nAuthorization: Basic c2VjcmV0\r\nCookie: session=secret\r\n", {
      traceHeaders: ["x-my-trace", "authorization"],
      requestIdHeaders: ["cookie"],
    });
    expect(r.trace_id).toBe("t-42");
    expect(JSON.stringify(r)).not.toMatch(/secret|c2VjcmV0/);
    // keepHeaders lifts the mask on purpose.
    const k = one("Cookie: req-7\r\n", { requestIdHeaders: ["cookie"], keepHeaders: ["cookie"] });
    expect(k.x_request_id).toBe("req-7");
  });
  it("SQL literals become placeholders", () => {
    expect(
      normalizeSql("SELECT * FROM users WHERE name = 'bob' AND id IN (1, 2,3) AND t1.x > -4.5e3", "mysql"),
    ).toBe("SELECT * FROM users WHERE name = ? AND id IN (?, ?,?) AND t1.x > -?");
    expect(normalizeSql(`ALTER USER "app" PASSWORD 'hunter2'`, "postgresql")).toBe(
      `ALTER USER "app" PASSWORD ?`,
    );
    expect(normalizeSql("select $$a 'b'$$, $1, x'ff', 0x1F", "postgresql")).toBe("select ?, $1, x?, ?");
  });
});

describe("binary protocols", () => {
  it("DNS over UDP: transaction ids pair out of order; unanswered query times out", () => {
    const q = (id: number, name: string) =>
      Buffer.concat([
        be16(id),
        hex("0100 0001 0000 0000 0000"),
        ...name.split(".").map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])),
        hex("00 0001 0001"),
      ]);
    const a = (id: number, name: string, rcode: number) => {
      const m = q(id, name);
      m.writeUInt16BE(0x8180 | rcode, 2);
      return m;
    };
    const h = harness({ udp: true, serverPort: 5300, requestTimeoutUs: 5_000_000 });
    h.send(0, q(1, "a.example"));
    h.send(0, q(2, "b.example"));
    h.send(0, q(3, "c.example"));
    h.send(1, a(2, "b.example", 3));
    h.send(1, a(1, "a.example", 0));
    h.l7.tick(h.now + 10_000_000);
    expect(h.rows.map((r) => [r.request_resource, r.response_status, r.response_code])).toEqual([
      ["b.example", "client_error", 3],
      ["a.example", "ok", 0],
      ["c.example", "timeout", 0],
    ]);
  });

  it("Kafka: correlation ids pair answers in any order; the topic of a Produce v2", () => {
    const produce = (corr: number) => {
      const body = Buffer.concat([
        be16(0),
        be16(2),
        be32(corr),
        str16("cli"),
        be16(1),
        be32(1000),
        be32(1),
        str16("orders"),
        be32(0),
      ]);
      return Buffer.concat([be32(body.length), body]);
    };
    const resp = (corr: number) => Buffer.concat([be32(8), be32(corr), be32(0)]);
    const h = harness({ serverPort: 19092 });
    h.send(0, Buffer.concat([produce(7), produce(8)]));
    h.send(1, resp(8));
    h.send(1, resp(7));
    h.l7.flush(h.now);
    expect(h.rows.map((r) => [r.request_type, r.version, r.request_domain, r.response_status])).toEqual([
      ["Produce", "2", "orders", "ok"],
      ["Produce", "2", "orders", "ok"],
    ]);
    expect(h.rows.every((r) => r.response_duration_us > 0)).toBe(true);
  });

  it("MQTT 5: QoS 2 publish gives PUBLISH↔PUBREC and PUBREL↔PUBCOMP; QoS 0 is one-way; CONNACK code", () => {
    const connect = hex("10 10 0004 4d515454 05 02 003c 00 0003 636c69");
    const h = harness({ serverPort: 2883 });
    h.send(0, connect);
    h.send(1, hex("20 03 00 00 00"));
    h.send(0, hex("34 0a 0003 612f62 0001 00 6869")); // PUBLISH QoS2 a/b id 1, no props, "hi"
    h.send(1, hex("50 02 0001"));
    h.send(0, hex("62 02 0001"));
    h.send(1, hex("70 02 0001"));
    h.send(0, hex("30 07 0003 612f62 00 78")); // QoS0
    h.send(0, hex("e0 00"));
    h.l7.flush(h.now);
    expect(h.rows.map((r) => [r.request_type, r.request_domain, r.response_status, r.version])).toEqual([
      ["CONNECT", "cli", "ok", "5.0"],
      ["PUBLISH", "a/b", "ok", "5.0"],
      ["PUBREL", "", "ok", "5.0"],
      ["PUBLISH", "a/b", "ok", "5.0"],
      ["DISCONNECT", "", "ok", "5.0"],
    ]);
    expect(h.rows.filter((r) => r.response_duration_us > 0)).toHaveLength(3);
  });

  it("TLS ClientHello: SNI and offered version from supported_versions; ServerHello answers", () => {
    const sni = Buffer.from("api.example.com");
    const sniExt = Buffer.concat([
      be16(0),
      be16(sni.length + 5),
      be16(sni.length + 3),
      Buffer.from([0]),
      be16(sni.length),
      sni,
    ]);
    const sv = hex("002b 0003 02 0304");
    const exts = Buffer.concat([sniExt, sv]);
    const body = Buffer.concat([
      hex("0303"),
      Buffer.alloc(32),
      hex("00"),
      hex("0002 1301"),
      hex("01 00"),
      be16(exts.length),
      exts,
    ]);
    const hs = Buffer.concat([hex("01"), Buffer.from([0, body.length >> 8, body.length & 255]), body]);
    const rec = Buffer.concat([hex("16 0301"), be16(hs.length), hs]);
    const h = harness({ serverPort: 9443 });
    h.send(0, rec);
    const sh = Buffer.concat([
      hex("0303"),
      Buffer.alloc(32),
      hex("00 1301 00"),
      be16(6),
      hex("002b 0002 0304"),
    ]);
    const shs = Buffer.concat([hex("02"), Buffer.from([0, 0, sh.length]), sh]);
    h.send(1, Buffer.concat([hex("16 0303"), be16(shs.length), shs]));
    h.send(1, Buffer.concat([hex("17 0303 0005"), Buffer.alloc(5)]));
    h.l7.flush(h.now);
    expect(
      h.rows.map((r) => [r.l7_protocol, r.request_type, r.request_domain, r.version, r.response_status]),
    ).toEqual([["tls", "ClientHello", "api.example.com", "TLS1.3", "ok"]]);
  });

  it("MySQL: an answer whose first byte comes in the next segment waits for it (ERR, not OK)", () => {
    const h = harness({ serverPort: 3306 });
    const pkt = (seq: number, body: Buffer) => {
      const head = Buffer.alloc(4);
      head.writeUIntLE(body.length, 0, 3);
      head[3] = seq;
      return Buffer.concat([head, body]);
    };
    h.send(
      1,
      pkt(0, Buffer.concat([Buffer.from([10]), Buffer.from("10.11.6-MariaDB\0"), Buffer.alloc(40, 1)])),
    );
    const login = Buffer.concat([
      hex("0d a2 0a 00"),
      Buffer.alloc(28),
      Buffer.from("app\0"),
      Buffer.from([0]),
      Buffer.from("shop\0"),
    ]);
    h.send(0, pkt(1, login));
    h.send(1, pkt(2, hex("00 00 00 02 00 00 00")));
    h.send(0, pkt(0, Buffer.concat([Buffer.from([3]), Buffer.from("SELECT * FROM missing")])));
    const err = pkt(
      1,
      Buffer.concat([hex("ff 7a 04"), Buffer.from("#42S02Table 'shop.missing' doesn't exist")]),
    );
    h.send(1, err.subarray(0, 4));
    h.send(1, err.subarray(4));
    h.l7.flush(h.now);
    expect(h.rows.map((r) => [r.request_type, r.request_domain, r.response_status, r.response_code])).toEqual(
      [
        ["Login", "shop", "ok", 0],
        ["Query", "shop", "client_error", 1146],
      ],
    );
    expect(h.rows[1]!.response_exception).toBe("Table 'shop.missing' doesn't exist");
  });

  it("Redis RESP3: map replies, bulk errors, large bulk strings without buffering", () => {
    const h = harness({ serverPort: 7000 });
    h.send(0, "*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n");
    h.send(1, "%1\r\n+server\r\n+redis\r\n");
    h.send(0, "*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n");
    h.send(1, `$300000\r\n${"z".repeat(100_000)}`);
    h.send(1, "z".repeat(200_000));
    h.send(1, "\r\n");
    h.send(0, "*1\r\n$4\r\nOOPS\r\n");
    h.send(1, "!21\r\nSYNTAX invalid syntax\r\n");
    h.l7.flush(h.now);
    expect(
      h.rows.map((r) => [r.request_type, r.request_resource, r.response_status, r.response_exception]),
    ).toEqual([
      ["HELLO", "", "ok", ""],
      ["GET", "big", "ok", ""],
      ["OOPS", "", "client_error", "error"],
    ]);
    expect(h.rows[1]!.response_length).toBeGreaterThan(300_000);
    expect(h.l7.stats().bufferOverflows).toBe(0);
  });
});

describe("pairing, bounds and metrics", () => {
  it("a response without request is a row with empty request fields; pending requests are bounded", () => {
    const h = harness({ maxPendingPerFlow: 4 });
    for (let i = 0; i < 10; i++) h.send(0, `GET /${i} HTTP/1.1\r\nHost: h\r\n\r\n`);
    h.l7.flush(h.now);
    expect(h.l7.stats().pendingOverflows).toBe(6);
    expect(h.rows.filter((r) => r.response_status === "timeout")).toHaveLength(4);
  });

  it("a flow that is not any known protocol is marked unknown after a few segments and never parsed again", () => {
    const h = harness();
    for (let i = 0; i < 10; i++) h.send(0, Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9, i]));
    expect(h.l7.stats().flowsUnknown).toBe(1);
    expect(h.rows).toHaveLength(0);
  });

  it("per-second RED metrics per server and endpoint with latency buckets", () => {
    const h = harness();
    const t0 = 1_800_000_000_000_000;
    h.send(0, "GET /a HTTP/1.1\r\nHost: h\r\n\r\n", { ts: t0 });
    h.send(1, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", { ts: t0 + 3000 });
    h.send(0, "GET /a HTTP/1.1\r\nHost: h\r\n\r\n", { ts: t0 + 10_000 });
    h.send(1, "HTTP/1.1 503 Unavailable\r\nContent-Length: 0\r\n\r\n", { ts: t0 + 210_000 });
    h.l7.tick(t0 + 2_000_000);
    expect(h.metrics).toHaveLength(1);
    const m = h.metrics[0]!;
    expect([m.time, m.endpoint, m.requests, m.errors_server, m.duration_sum_us, m.duration_max_us]).toEqual([
      t0,
      "/a",
      2,
      1,
      203_000,
      200_000,
    ]);
    expect(m.latency_buckets).toHaveLength(APP_LATENCY_BUCKETS_US.length + 1);
    expect((m.latency_buckets as number[]).reduce((a, b) => a + b, 0)).toBe(2);
    expect(ZApplicationMetricsRow.safeParse(m).success).toBe(true);
  });
});

describe("giving up", () => {
  it("a stream that never finds a message boundary again after a gap is marked failed, not retried forever", () => {
    const h = harness();
    h.send(0, "GET / HTTP/1.1\r\nHost: h\r\n\r\n", { seq: 1 });
    let seq = 100_000;
    for (let i = 0; i < 200; i++) {
      h.send(0, `garbage ${i} ${"z".repeat(40)}`, { seq });
      seq += 1000; // every segment after a hole
    }
    expect(h.l7.stats().flowsFailed).toBe(1);
  });
});
