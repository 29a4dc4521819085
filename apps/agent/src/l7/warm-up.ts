/**
 * L7 warm-up: about a hundred synthetic payload segments of the exchanges real traffic brings
 * (HTTP/1 keep-alive and close, Content-Length, chunked both ways, 100-continue, HEAD, 204,
 * 304, 4xx/5xx, pipelined requests, messages split over segments and segments holding several,
 * unanswered requests, responses without their request; DNS queries, answers, NXDOMAIN,
 * unanswered queries; a flow no parser accepts; ticks, timeouts and finished metric seconds) go
 * once per process into a throw-away processor.
 *
 * Why: V8 optimizes the hot functions after some thousand segments with the type feedback seen
 * so far; the first 304, chunked body, timeout or late metrics row of a real capture then meets
 * an operation without feedback and deoptimizes the function, which runs in the interpreter
 * again and is compiled a second time (8 such deopts on web-1m.pcap: HTTP/1 `response`,
 * `headers`, the processor's `feed`, `emit`, `expire`, the metrics' `add`). With every path
 * seen first the first optimized code is the last. The segments are too few to get anything
 * optimized here; the processor, its rows and metrics rows are dropped, and no module-level
 * table of src/l7 keeps anything from them (measured: docs/benchmarks.md, "L7 cost, session 4:
 * parsing and pairing"). Not warmed (yet): MySQL, PostgreSQL, Redis, TLS and the rest; more
 * parser classes at the processor's call to `parse` than the traffic has would make that call
 * polymorphic or megamorphic (not measured). Not warmed either: retransmitted, out-of-order and
 * lost segments; with them the optimized `onPayload` took the hold and gap paths in and cost
 * ~50 instructions a packet more on real-1m.pcap, which has none (callgrind), for one deopt
 * saved where they occur.
 */
import type { L7Processor } from "./processor.ts";
import type { FlowMeta } from "./types.ts";

const T0 = 1_700_000_000_000_000;
const SECOND = 1_000_000;

/** Feeds one processor; keeps the clock, the ticks and where segments are written. */
class Feeder {
  /** Segments are written one after the other into this block, like a reader's block. */
  private readonly blk = Buffer.alloc(1 << 16);
  private o = 0;
  t = T0;
  private nextTick = T0 + SECOND;
  readonly metas = new Map<number, FlowMeta>();

  constructor(readonly p: L7Processor) {}

  advance(us: number): void {
    this.t += us;
    while (this.t >= this.nextTick) {
      this.p.tick(this.nextTick);
      this.nextTick += SECOND;
    }
  }

  payload(slot: number, dir: number, bytes: Uint8Array, seq: number, wireLen = bytes.length): void {
    if (this.o + bytes.length > this.blk.length) this.o = 0;
    this.blk.set(bytes, this.o);
    this.p.onPayload(slot, dir, this.blk, this.o, bytes.length, wireLen, seq, this.t);
    this.o += bytes.length + 14;
    this.advance(137);
  }

  /** As the engine ends a flow: its L4 row asks for the protocol first. */
  end(slot: number): void {
    this.p.protocolOf(slot);
    this.p.onFlowEnd(slot, this.t);
    this.metas.delete(slot);
  }
}

const latin1 = (s: string): Buffer => Buffer.from(s, "latin1");

/** One TCP flow: next sequence number per direction (as the engine sees it: 0 = client). */
class Tcp {
  private readonly next: number[];
  constructor(
    private readonly w: Feeder,
    readonly slot: number,
    isn: number,
  ) {
    this.next = [isn | 0, (isn * 7 + 12345) | 0];
  }

  /** Sends `s` in `dir` as one segment (or, with `cuts`, several at those offsets). */
  send(dir: number, s: string | Uint8Array, cuts: number[] = []): void {
    const b = typeof s === "string" ? latin1(s) : s;
    let from = 0;
    for (const c of [...cuts, b.length]) {
      if (c <= from) continue;
      this.w.payload(this.slot, dir, b.subarray(from, c), this.next[dir]!);
      this.next[dir] = (this.next[dir]! + c - from) | 0;
      from = c;
    }
  }
}

const UA = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

function req(
  method: string,
  path: string,
  host: string,
  extra: string[] = [],
  body = "",
  version = "1.1",
): string {
  const h = [
    `${method} ${path} HTTP/${version}`,
    `Host: ${host}`,
    `User-Agent: ${UA}`,
    "Accept: text/html,application/xhtml+xml,*/*;q=0.8",
    "Accept-Language: en-US,en;q=0.5",
    "Accept-Encoding: gzip, deflate, br",
    ...extra,
  ];
  if (body !== "" && !extra.some((x) => /^transfer-encoding/i.test(x)))
    h.push(`Content-Length: ${body.length}`);
  return `${h.join("\r\n")}\r\n\r\n${body}`;
}

function resp(
  code: number,
  reason: string,
  extra: string[] = [],
  body: string | null = "",
  version = "1.1",
): string {
  const h = [
    `HTTP/${version} ${code} ${reason}`,
    "Date: Thu, 26 Nov 2026 19:00:00 GMT",
    "Server: node",
    "Cache-Control: public, max-age=0",
    ...extra,
  ];
  if (body !== null) h.push(`Content-Length: ${body.length}`);
  return `${h.join("\r\n")}\r\n\r\n${body ?? ""}`;
}

const hex = (n: number, len: number) => (n >>> 0).toString(16).padStart(8, "0").repeat(4).slice(0, len);

/** HTTP/1 conversations on one server; `k` varies ids and sizes between passes. */
function http(w: Feeder, k: number, slot0: number): number {
  let slot = slot0;
  const host = `app${k}.test:18090`;
  const flow = (port: number): Tcp => {
    const s = slot++;
    w.metas.set(s, {
      flowId: String(4294967296 + s),
      clientIp: "127.0.0.1",
      clientPort: port,
      serverIp: "127.0.0.1",
      serverPort: port % 2 === 0 ? 18090 : 80,
      ipProtocol: 6,
    });
    return new Tcp(w, s, (port * 2654435761) | 0);
  };
  const body = (n: number) => "x".repeat(n);
  const tp = (i: number) => `traceparent: 00-${hex(k * 97 + i, 32)}-${hex(i + 5, 16)}-01`;

  // A browser on keep-alive: pages and assets, 304s, a 404, trace and request-id headers,
  // bodies in the response's segment, after it and across several segments.
  const a = flow(50000 + k * 16);
  a.send(0, req("GET", "/", host, ["Connection: keep-alive", "Upgrade-Insecure-Requests: 1"]));
  a.send(
    1,
    resp(200, "OK", ["Content-Type: text/html; charset=utf-8", "Connection: keep-alive"], body(3000)),
    [1448],
  );
  a.send(0, req("GET", `/assets/app.js?v=${k}`, host, ["Cookie: sid=abc", tp(1), "X-Request-ID: r-1"]));
  a.send(
    1,
    resp(200, "OK", ["Content-Type: application/javascript", 'ETag: W/"1"'], body(9000)),
    [200, 1448, 4344],
  );
  a.send(
    0,
    req("GET", "/assets/site.css", host, [
      'If-None-Match: W/"2"',
      "If-Modified-Since: Thu, 26 Nov 2026 18:00:00 GMT",
    ]),
  );
  a.send(
    1,
    resp(304, "Not Modified", ['ETag: W/"2"', "Connection: keep-alive", "Keep-Alive: timeout=5"], null),
  );
  a.send(0, req("GET", "/missing.png", host, [`b3: ${hex(k + 3, 32)}-${hex(k, 16)}-1`]));
  a.send(1, resp(404, "Not Found", ["Content-Type: text/plain"], "not found"));
  a.send(0, req("HEAD", "/", host, []));
  a.send(1, resp(200, "OK", ["Content-Length: 3000"], null));
  // Pipelined: two requests in one segment, their responses in one; a request split in two.
  a.send(
    0,
    req("GET", "/api/a", host, [
      "X-B3-TraceId: 463ac35c9f6413ad48485a3953bb6124",
      "X-B3-SpanId: a2fb4a1d1a96d312",
    ]) + req("GET", "/api/b", host, ["sw8: 1-MQ==-MQ==-1-c2Vydg==-aW5zdA==-L2E=-bG9jYWw="]),
  );
  a.send(1, resp(200, "OK", [], "{}") + resp(500, "Internal Server Error", [], "oops"), [60]);
  a.send(
    0,
    req("GET", "/api/c?id=7&x=1", host, ["uber-trace-id: 5af7183fb1d4cf5f:6d7fb5a9ecbd1a5f:0:1"]),
    [40],
  );
  a.send(1, resp(204, "No Content", [], null));
  // A request left unanswered (timeout at the flow's end).
  a.send(0, req("GET", "/slow", host, []));
  a.send(1, resp(200, "OK", [], body(5)));

  // A service client: POST with a body, a chunked upload, 100-continue, chunked responses,
  // a 201, a 503.
  const b = flow(50001 + k * 16);
  const json = `{"id":${k},"items":[1,2,3],"name":"warm"}`;
  b.send(
    0,
    req("POST", "/v1/orders", host, ["Content-Type: application/json", tp(2), "X-Request-ID: r-2"], json),
  );
  b.send(1, resp(201, "Created", ["Content-Type: application/json", "Location: /v1/orders/1"], json));
  b.send(0, req("POST", "/v1/upload", host, ["Transfer-Encoding: chunked"]), []);
  b.send(0, `${(json.length).toString(16)}\r\n${json}\r\n`);
  b.send(0, `1f4\r\n${body(500)}\r\n0\r\n\r\n`, [100]);
  b.send(
    1,
    resp(200, "OK", ["Transfer-Encoding: chunked", "Content-Type: text/plain"], null).replace(
      /Content-Length: 0\r\n/,
      "",
    ),
  );
  b.send(1, "a\r\n0123456789\r\n", []);
  b.send(1, "1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n", [5]);
  b.send(
    0,
    req(
      "PUT",
      "/v1/blob",
      host,
      ["Expect: 100-continue", "Content-Type: application/octet-stream"],
      "",
    ).replace("\r\n\r\n", `\r\nContent-Length: 2000\r\n\r\n`),
  );
  b.send(1, "HTTP/1.1 100 Continue\r\n\r\n");
  b.send(0, body(2000), [1448]);
  b.send(1, resp(503, "Service Unavailable", ["Retry-After: 1"], "busy"));
  b.send(0, req("DELETE", "/v1/orders/1", host, ["X-Request-ID: r-3"]));
  b.send(
    1,
    resp(200, "OK", ["Transfer-Encoding: chunked"], null).replace(/Content-Length: 0\r\n/, "") +
      "5\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n",
  );
  b.send(0, req("OPTIONS", "*", host, []));
  w.advance(1_100_000);
  b.send(1, resp(200, "OK", ["Allow: GET, POST"], ""));

  // New connections (ab, curl): HTTP/1.0, Connection: close, a body until the close.
  const c = flow(50002 + k * 16);
  c.send(0, req("GET", "/index.html", "localhost", ["Connection: close"], "", "1.0"));
  c.send(
    1,
    resp(200, "OK", ["Connection: close", "Content-Type: text/html"], null, "1.0") + body(700),
    [100],
  );
  c.send(1, body(1448));
  w.end(c.slot);
  const d = flow(50003 + k * 16);
  d.send(0, req("GET", "/health", "localhost:80", ["Connection: close"]));
  d.send(1, resp(200, "OK", ["Connection: close"], "ok"));
  w.end(d.slot);
  // Answers whose requests were not captured (a flow picked up in the middle).
  const e = flow(50004 + k * 16);
  e.send(1, resp(200, "OK", [], body(20)));
  e.send(0, req("GET", "/then", host, []));
  e.send(1, resp(302, "Found", ["Location: /"], ""));
  // Not a protocol anyone parses: given up after a few segments.
  const g = flow(50005 + k * 16);
  for (let i = 0; i < 5; i++)
    g.send(i & 1, new Uint8Array([0x16 + i, 0xfe, 0, i, 9, 8, 7, 6, 5, 4, 3, 2, 1]));
  w.end(g.slot);

  // Unanswered for longer than the timeout (a tick reports it, in a second already written).
  const h = flow(50006 + k * 16);
  h.send(0, req("GET", "/hang", host, []));
  w.advance(31 * SECOND);
  h.send(0, req("GET", "/hang2", host, []));
  h.send(1, resp(200, "OK", [], ""));
  // Picked up in the middle again, a few times, now that detection has feedback: the flows
  // above came before V8 keeps feedback for HTTP/1's detect (it allocates it once a function
  // has run a while), and web-1m's first flow that began with a response deoptimized it.
  for (let i = 0; i < 12; i++) {
    const r = flow(50100 + i + k * 16);
    r.send(1, resp(304, "Not Modified", [], null));
    r.send(0, req("GET", "/again", host, []));
    r.send(1, resp(200, "OK", [], body(3)));
    w.end(r.slot);
  }
  w.end(a.slot);
  w.end(b.slot);
  w.end(e.slot);
  w.end(h.slot);
  return slot;
}

/** A DNS message: one question, `an` A/AAAA answers with a compressed name. */
function dnsMsg(id: number, flags: number, name: string, qtype: number, an: number): Uint8Array {
  const parts: number[] = [id >> 8, id & 255, flags >> 8, flags & 255, 0, 1, 0, an, 0, 0, 0, an > 0 ? 1 : 0];
  for (const l of name.split(".")) parts.push(l.length, ...latin1(l));
  parts.push(0, 0, qtype, 0, 1);
  for (let i = 0; i < an; i++) {
    const rd = qtype === 28 ? 16 : 4;
    parts.push(0xc0, 12, 0, qtype, 0, 1, 0, 0, 1, 44, 0, rd);
    for (let j = 0; j < rd; j++) parts.push(j === 0 ? 127 : j);
  }
  if (an > 0) parts.push(0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 0);
  return new Uint8Array(parts);
}

function dns(w: Feeder, k: number, slot0: number): number {
  let slot = slot0;
  const names = ["example.com", "api.internal.test", "cdn.assets.example.net", "nope.invalid"];
  for (let i = 0; i < 6; i++) {
    const s = slot++;
    w.metas.set(s, {
      flowId: String(4294967296 + s),
      clientIp: "127.0.0.1",
      clientPort: 40000 + k * 8 + i,
      serverIp: "127.0.0.53",
      serverPort: 53,
      ipProtocol: 17,
    });
    const name = names[i % names.length]!;
    for (const qt of i === 5 ? [1] : [1, 28]) {
      const id = (k * 4099 + i * 31 + qt) & 0xffff;
      if (i !== 4) w.payload(s, 0, dnsMsg(id, 0x0100, name, qt, 0), 0);
      if (i === 5) continue; // never answered
      const nx = name.endsWith(".invalid");
      w.payload(s, 1, dnsMsg(id, nx ? 0x8183 : i === 2 ? 0x8182 : 0x8180, name, qt, nx ? 0 : 2), 0);
    }
    if (i < 3) w.end(s);
  }
  return slot;
}

let warmed = false;

/**
 * Runs the warm-up once per process through the processor `make` returns, with the flow
 * descriptions it is given by `describe` (a throw-away instance: nothing it emits is kept).
 */
export function warmUpL7Once(make: (describe: (slot: number) => FlowMeta) => L7Processor): void {
  if (warmed) return;
  warmed = true;
  let w: Feeder | null = null;
  const p = make((slot) => w!.metas.get(slot)!);
  w = new Feeder(p);
  // One pass left no deopt in src/l7 on web-1m.pcap. Three (the second with plain Uint8Arrays,
  // as workers pass) cost 72 M instructions instead of 32 M and ended 0.5 % above no warm-up
  // on the whole capture (callgrind), one pass 2.4 % below.
  dns(w, 0, http(w, 0, 1));
  w.advance(2 * SECOND);
  p.flush(w.t);
}
