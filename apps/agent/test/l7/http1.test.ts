import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { http1 } from "../../src/l7/protocols/http1.ts";
import { HeaderPolicyImpl } from "../../src/l7/trace-context.ts";
import type { HeaderPolicy, ParseContext, ProtocolSpec } from "../../src/l7/types.ts";
import { harness } from "./harness.ts";
import { http1Reference } from "./http1-reference.ts";

describe("HTTP/1 parser", () => {
  it("pairs pipelined requests FIFO, skips bodies by content-length and chunked encoding", () => {
    const h = harness();
    h.send(
      0,
      "GET /a?x=1 HTTP/1.1\r\nHost: svc.local\r\n\r\nPOST /b HTTP/1.1\r\nHost: svc.local\r\nContent-Length: 5\r\n\r\nhello",
    );
    h.send(0, "HEAD /c HTTP/1.1\r\nHost: svc.local\r\n\r\n");
    h.send(1, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n");
    h.send(1, "5\r\npedia\r\n0\r\n\r\nHTTP/1.1 500 Internal Server Error\r\nContent-Length: 3\r\n\r\nbad");
    // HEAD: Content-Length announces a body that is not sent.
    h.send(1, "HTTP/1.1 404 Not Found\r\nContent-Length: 1234\r\n\r\n");
    h.l7.flush(h.now);
    expect(h.rows.map((r) => [r.request_type, r.endpoint, r.response_code, r.response_status])).toEqual([
      ["GET", "/a", 200, "ok"],
      ["POST", "/b", 500, "server_error"],
      ["HEAD", "/c", 404, "client_error"],
    ]);
    expect(h.rows[0]!.request_domain).toBe("svc.local");
    expect(h.rows[0]!.request_resource).toBe("/a?x=1");
    expect(h.rows[1]!.request_length).toBeGreaterThan(5);
    expect(h.rows[1]!.response_exception).toBe("Internal Server Error");
  });

  it("does not take 100 Continue for the answer, and skips a large body across segments", () => {
    const h = harness();
    h.send(0, "PUT /up HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 200000\r\n\r\n");
    h.send(1, "HTTP/1.1 100 Continue\r\n\r\n");
    for (let i = 0; i < 20; i++) h.send(0, "x".repeat(10_000));
    h.send(1, "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
    h.send(0, "GET /next HTTP/1.1\r\nHost: h\r\n\r\n");
    h.send(1, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    h.l7.flush(h.now);
    expect(h.rows.map((r) => [r.request_type, r.response_code])).toEqual([
      ["PUT", 201],
      ["GET", 200],
    ]);
    expect(h.l7.stats().bufferOverflows).toBe(0);
  });

  it("reassembles headers split across segments and records request/response TCP sequence numbers", () => {
    const h = harness();
    const s1 = h.send(0, "GET /split HTTP/1.1\r\nHo");
    h.send(0, "st: a\r\n\r\n");
    const r1 = h.send(1, "HTTP/1.1 204 No Content\r\n\r\n");
    h.l7.flush(h.now);
    expect(h.rows).toHaveLength(1);
    expect(h.rows[0]!.req_tcp_seq).toBe(s1);
    expect(h.rows[0]!.resp_tcp_seq).toBe(r1);
    expect(h.rows[0]!.request_domain).toBe("a");
  });

  it("detects HTTP on any port from the payload and from a response seen first", () => {
    const h = harness({ serverPort: 31337 });
    h.send(1, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    h.l7.flush(h.now);
    expect(h.rows[0]!.l7_protocol).toBe("http");
    expect(h.rows[0]!.request_type).toBe("");
    expect(h.l7.stats().orphanResponses).toBe(1);
  });

  it("resynchronises after lost segments instead of giving up on the flow", () => {
    const h = harness();
    h.send(0, "GET /1 HTTP/1.1\r\nHost: h\r\n\r\n");
    h.send(1, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123");
    h.send(1, "6789", { seq: 900_000 + 1000 }); // a hole before it
    h.send(0, "GET /2 HTTP/1.1\r\nHost: h\r\n\r\n");
    h.send(1, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", { seq: 900_000 + 2000 });
    h.l7.flush(h.now);
    expect(h.rows.map((r) => [r.endpoint, r.response_code])).toEqual([
      ["/1", 200],
      ["/2", 200],
    ]);
    expect(h.l7.stats().flowsFailed).toBe(0);
  });

  it("holds an out-of-order segment until the hole fills, then parses in order", () => {
    const h = harness();
    const a = "GET /ooo HTTP/1.1\r\n";
    const b = "Host: h\r\n\r\n";
    const first = "GET /first HTTP/1.1\r\nHost: h\r\n\r\n";
    h.send(0, first, { seq: 100 });
    h.send(0, b, { seq: 100 + first.length + a.length });
    h.send(0, a, { seq: 100 + first.length });
    h.send(1, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    h.send(1, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    h.l7.flush(h.now);
    expect(h.rows.map((r) => [r.endpoint, r.response_code])).toEqual([
      ["/first", 200],
      ["/ooo", 200],
    ]);
    expect(h.l7.stats().reordered).toBe(1);
    expect(h.l7.stats().gaps).toBe(0);
  });

  it("copies what it keeps: the caller's buffer is reused between calls (held and buffered bytes)", () => {
    const h = harness();
    const shared = Buffer.alloc(256);
    const put = (dir: 0 | 1, text: string, seq: number) => {
      shared.fill(0x58);
      shared.write(text, 16, "latin1");
      h.now += 1000;
      h.l7.onPayload(0, dir, shared, 16, text.length, text.length, seq, h.now);
    };
    const a = "GET /reuse HTTP/1.1\r\nHo";
    const b = "st: x\r\n\r\n";
    put(0, "GET /warm HTTP/1.1\r\nHost: x\r\n\r\n", 1);
    const n0 = "GET /warm HTTP/1.1\r\nHost: x\r\n\r\n".length;
    put(0, b, 1 + n0 + a.length); // ahead of a hole: held
    put(0, a, 1 + n0); // fills it; a's tail is buffered until b completes the headers
    put(1, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 5000);
    put(1, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 5000 + 38);
    h.l7.flush(h.now);
    expect(h.rows.map((r) => [r.endpoint, r.request_domain, r.response_code])).toEqual([
      ["/warm", "x", 200],
      ["/reuse", "x", 200],
    ]);
  });
});

/** Parses one window with `policy` and records what the parser reported. */
function parseWith(policy: HeaderPolicy, text: string, spec: ProtocolSpec = http1): unknown[] {
  const got: unknown[] = [];
  const ctx: ParseContext = {
    ts: 0,
    seq: 0,
    request: (r) => got.push(["req", r]),
    response: (r) => got.push(["res", r]),
    oldestPendingType: () => "GET",
    headers: policy,
  };
  const b = new Uint8Array(Buffer.from(text, "latin1"));
  const p = spec.create(false);
  got.push(p.parse(ctx, 0, b, 0, b.length), p.parse(ctx, 1, b, 0, b.length));
  return got;
}

describe("HTTP/1 header lines skipped by their first byte", () => {
  const options = {
    traceHeaders: ["Req-Trace", "9id", "-odd", "", "authorization", "a:b", "hid1", "content-length"],
    requestIdHeaders: ["K-Id", "cookie"],
  };
  const names = [
    "Host",
    "HOST",
    "hxyz",
    "Content-Length",
    "content-length",
    "Connection",
    "Transfer-Encoding",
    "traceparent",
    "TraceParent",
    "b3",
    "X-B3-TraceId",
    "x-b3-spanid",
    "sw8",
    "UBER-TRACE-ID",
    "X-Request-ID",
    "req-trace",
    "REQ-TRACE",
    "9id",
    "-odd",
    "",
    "k-id",
    "K-ID",
    "Authorization",
    "Cookie",
    "User-Agent",
    "Accept",
    "rX",
    "Kx",
    "a:b",
    "A",
    "hid1",
    "Host ",
    "h",
    "Content-Length ",
    "Hos",
    "Ho",
  ];
  const line = fc.oneof(
    fc
      .tuple(
        fc.constantFrom(...names),
        fc.constantFrom("v", " 1-2-3-4", " 7", "chunked", "\tKeep-Alive, CLOSE", " gzip, Chunked", ":x"),
      )
      .map(([n, v]) => `${n}:${v}\r\n`),
    fc.constantFrom("no colon\r\n", "bare: lf\n", " lead: space\r\n", "\tx: y\r\n"),
    fc.string({
      unit: fc.constantFrom("h", "H", "c", "t", "k", ":", " ", "\r", "o", "-", "\n"),
      maxLength: 8,
    }),
  );

  it("reports what scanning every name for its colon reported (the parser before)", () => {
    for (const opts of [{}, options]) {
      const policy = new HeaderPolicyImpl(opts);
      fc.assert(
        fc.property(fc.array(line, { maxLength: 12 }), fc.boolean(), (lines, cut) => {
          let text = `GET /p HTTP/1.1\r\n${lines.join("")}\r\n`;
          if (cut) text = text.slice(0, -3);
          expect(parseWith(policy, text)).toEqual(parseWith(policy, text, http1Reference));
          const res = `HTTP/1.1 200 OK\r\n${lines.join("")}\r\n`;
          expect(parseWith(policy, res)).toEqual(parseWith(policy, res, http1Reference));
        }),
        { numRuns: 1000 },
      );
    }
  });

  it("finds configured names whatever their first byte and case, and still never reads masked ones", () => {
    const policy = new HeaderPolicyImpl(options);
    const got = parseWith(
      policy,
      "GET / HTTP/1.1\r\nUser-Agent: u\r\nREQ-TRACE: t-9\r\nAuthorization: secret\r\nk-id: r-1\r\n\r\n",
    );
    expect(got[0]).toMatchObject(["req", { trace: { traceId: "t-9", xRequestId: "r-1" } }]);
    expect(JSON.stringify(got)).not.toMatch(/secret/);
  });
});
