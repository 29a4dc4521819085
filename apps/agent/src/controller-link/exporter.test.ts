import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { INGEST_NATIVE_CONTENT_TYPE, INGEST_TSV_CONTENT_TYPE } from "@flowplane/protocol";
import { decodeNativeBlock } from "@flowplane/query/native-block";
import { agentL4Row, l7Row, networkRow } from "@flowplane/query/testing-fixtures";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { CredentialHolder } from "./credential.ts";
import { HttpExporter, makeBatch, type TExporterEvent } from "./exporter.ts";
import { TestIngestServer } from "./test-ingest-server.ts";

type TScripted = { status: number; body: unknown; headers?: Record<string, string>; rotate?: boolean };

/** A tiny scripted HTTP peer on loopback: answers each request with the next scripted reply. */
describe("HttpExporter", () => {
  let server: Server;
  let url: string;
  let script: TScripted[] = [];
  let seen: { batchId: string; auth: string | undefined; type: string | undefined; raw: Buffer }[] = [];
  let credential: CredentialHolder;
  let events: TExporterEvent[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", async () => {
        // JSON batches, or the Native and compact encodings' JSON header line.
        const raw = Buffer.concat(chunks);
        const type = req.headers["content-type"];
        const head = raw.toString("utf8", 0, type === "application/json" ? raw.length : raw.indexOf(10));
        seen.push({ batchId: JSON.parse(head).batchId, auth: req.headers.authorization, type, raw });
        const next = script.shift() ?? {
          status: 500,
          body: { error: { code: "INTERNAL", message: "unscripted" } },
        };
        if (next.rotate) await credential.set("fpa_rotated");
        res.writeHead(next.status, { "content-type": "application/json", ...next.headers });
        res.end(JSON.stringify(next.body));
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));
  beforeEach(() => {
    script = [];
    seen = [];
    events = [];
    credential = new CredentialHolder("fpa_first");
  });

  const ok = (batchId: string, extra = {}) => ({
    status: 200,
    body: { batchId, accepted: 2, rejected: [], ...extra },
  });
  const busy = (retryAfter: string) => ({
    status: 429,
    headers: { "retry-after": retryAfter },
    body: { error: { code: "TOO_MANY_REQUESTS", message: "busy" } },
  });

  function exporter(sleeps: number[], deadlineMs = 30_000, endpoint = () => url) {
    return new HttpExporter({
      endpoint,
      credential,
      deadlineMs,
      random: () => 0.5,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      log: (e) => events.push(e),
    });
  }

  it("retries a 429 with the same batch id, never sooner than Retry-After", async () => {
    const batch = makeBatch(crypto.randomUUID(), "l4_flow_log", [{ a: 1 }, { a: 2 }]);
    script = [busy("2"), busy("1"), ok(batch.batchId)];
    const sleeps: number[] = [];
    const r = await exporter(sleeps).export(batch);
    expect(r.code).toBe("success");
    expect(r.attempts).toBe(3);
    expect(sleeps).toEqual([2000, 1000]);
    expect(new Set(seen.map((s) => s.batchId))).toEqual(new Set([batch.batchId]));
  });

  it("backs off exponentially with jitter on 503 and counts a duplicate answer as success", async () => {
    const batch = makeBatch(crypto.randomUUID(), "l4_flow_log", [{ a: 1 }]);
    const unavailable = { status: 503, body: { error: { code: "UNAVAILABLE", message: "store down" } } };
    script = [unavailable, unavailable, unavailable, ok(batch.batchId, { duplicate: true })];
    const sleeps: number[] = [];
    const ex = exporter(sleeps);
    const r = await ex.export(batch);
    expect(r.code).toBe("success");
    expect(sleeps).toEqual([100, 200, 400]); // 200·2^n × jitter 0.5
    expect(ex.counters.duplicates).toBe(1);
  });

  it("a refusal that cannot change is a failure after one attempt", async () => {
    const batch = makeBatch(crypto.randomUUID(), "l4_flow_log", [{ a: 1 }]);
    script = [{ status: 413, body: { error: { code: "PAYLOAD_TOO_LARGE", message: "limit is 8 bytes" } } }];
    const r = await exporter([]).export(batch);
    expect(r.code).toBe("failure");
    if (r.code === "failure") {
      expect(r.error.code).toBe("PAYLOAD_TOO_LARGE");
      expect(r.error.message).toMatch(/limit/);
    }
  });

  it("hands the batch back as retryable instead of waiting past its deadline", async () => {
    const batch = makeBatch(crypto.randomUUID(), "l4_flow_log", [{ a: 1 }]);
    script = [busy("60")];
    const sleeps: number[] = [];
    const r = await exporter(sleeps, 5_000).export(batch);
    expect(r.code).toBe("retryable");
    if (r.code === "retryable") expect(r.retryAfterS).toBe(60);
    expect(sleeps).toEqual([]);
  });

  it("an unreachable endpoint is retryable", async () => {
    const batch = makeBatch(crypto.randomUUID(), "l4_flow_log", [{ a: 1 }]);
    const r = await exporter([], 1, () => "http://127.0.0.1:9").export(batch);
    expect(r.code).toBe("retryable");
    if (r.code === "retryable") expect(r.error.code).toBe("NETWORK");
  });

  it("a 401 that raced a credential rotation is retried with the new credential", async () => {
    const batch = makeBatch(crypto.randomUUID(), "l4_flow_log", [{ a: 1 }]);
    script = [
      { status: 401, rotate: true, body: { error: { code: "UNAUTHORIZED", message: "old" } } },
      ok(batch.batchId),
    ];
    const r = await exporter([]).export(batch);
    expect(r.code).toBe("success");
    expect(seen.map((s) => s.auth)).toEqual(["Bearer fpa_first", "Bearer fpa_rotated"]);
    // Without a rotation a 401 is final.
    script = [{ status: 401, body: { error: { code: "UNAUTHORIZED", message: "revoked" } } }];
    expect((await exporter([]).export(batch)).code).toBe("failure");
  });

  it("sends L4 and network rows as one Native block after a JSON header line, L7 rows as TSV", async () => {
    const e = exporter([]);
    const l4 = makeBatch(crypto.randomUUID(), "l4_flow_log", [agentL4Row(), agentL4Row()]);
    const { org_id: _o, agent_id: _a, ...net } = networkRow();
    const metrics = makeBatch(l4.agentId, "network_metrics", [net]);
    const { org_id: _o7, agent_id: _a7, ...l7 } = l7Row();
    const l7Batch = makeBatch(l4.agentId, "l7_flow_log", [l7]);
    script = [ok(l4.batchId), ok(metrics.batchId), ok(l7Batch.batchId)];
    for (const b of [l4, metrics, l7Batch]) expect((await e.export(b)).code).toBe("success");
    expect(seen.map((s) => s.type)).toEqual([
      INGEST_NATIVE_CONTENT_TYPE,
      INGEST_NATIVE_CONTENT_TYPE,
      INGEST_TSV_CONTENT_TYPE,
    ]);
    const raw = seen[0]?.raw ?? Buffer.alloc(0);
    const nl = raw.indexOf(10);
    expect(JSON.parse(raw.toString("utf8", 0, nl))).toEqual({
      batchId: l4.batchId,
      agentId: l4.agentId,
      table: "l4_flow_log",
      rows: 2,
    });
    expect(decodeNativeBlock("l4_flow_log", raw.subarray(nl + 1))).toEqual(l4.rows);
    const [header, ...lines] = (seen[2]?.raw.toString() ?? "").split("\n");
    expect(JSON.parse(header ?? "")).toMatchObject({
      batchId: l7Batch.batchId,
      table: "l7_flow_log",
      rows: 1,
    });
    expect(lines).toHaveLength(2); // one row and the last newline
    expect(e.encoding).toBe("native");
    expect(events).toEqual([]);
  });

  it("Native to a controller that reads it: stored with its rows, once however often it is sent", async () => {
    const server = await new TestIngestServer().start();
    try {
      const e = new HttpExporter({ endpoint: () => server.url, credential, log: (ev) => events.push(ev) });
      const batch = makeBatch(crypto.randomUUID(), "l4_flow_log", [
        agentL4Row(),
        agentL4Row({ client_ip: "2001:db8::7" }),
      ]);
      const first = await e.export(batch);
      const again = await e.export(batch);
      expect(first.code === "success" && first.response).toEqual({
        batchId: batch.batchId,
        accepted: 2,
        rejected: [],
      });
      expect(again.code === "success" && again.response.duplicate).toBe(true);
      expect(server.received.map((r) => r.encoding)).toEqual(["native", "native"]);
      expect(server.storedRows).toEqual(batch.rows);
    } finally {
      await server.stop();
    }
  });

  it("falls back to TSV, for this batch and the next ones to that endpoint, when the controller does not read Native", async () => {
    const server = await new TestIngestServer(["tsv", "json"]).start();
    try {
      let now = 0;
      let endpoint = server.url;
      const e = new HttpExporter({
        endpoint: () => endpoint,
        credential,
        encodingRetryMs: 60_000,
        now: () => now,
        log: (ev) => events.push(ev),
      });
      const agentId = crypto.randomUUID();
      const a = makeBatch(agentId, "l4_flow_log", [agentL4Row()]);
      const b = makeBatch(agentId, "l4_flow_log", [agentL4Row()]);
      expect((await e.export(a)).code).toBe("success");
      expect((await e.export(b)).code).toBe("success");
      expect(server.received.map((r) => [r.encoding, r.status])).toEqual([
        ["native", 400],
        ["tsv", 200],
        ["tsv", 200],
      ]);
      expect(server.storedRows).toEqual([...a.rows, ...b.rows]);
      expect(e.encoding).toBe("tsv");
      expect(e.counters.encodingFallbacks).toBe(1);
      expect(events).toMatchObject([{ level: "warn", agentId, batchId: a.batchId, endpoint: server.url }]);
      // On another (upgraded) data node, or after encodingRetryMs: Native again.
      endpoint = `${server.url}/`;
      expect(e.encoding).toBe("native");
      endpoint = server.url;
      expect(e.encoding).toBe("native"); // the fallback was forgotten with the move
      expect((await e.export(makeBatch(agentId, "l4_flow_log", [agentL4Row()]))).code).toBe("success");
      now = 59_999;
      expect(e.encoding).toBe("tsv");
      now = 60_000;
      expect(e.encoding).toBe("native");
      // A 415 is a refusal of the type too.
      endpoint = url;
      const c = makeBatch(agentId, "l4_flow_log", [agentL4Row()]);
      script = [
        { status: 415, body: { error: { code: "UNSUPPORTED_MEDIA_TYPE", message: "no" } } },
        ok(c.batchId),
      ];
      expect((await e.export(c)).code).toBe("success");
      expect(seen.map((s) => s.type)).toEqual([INGEST_NATIVE_CONTENT_TYPE, INGEST_TSV_CONTENT_TYPE]);
      expect(e.encoding).toBe("tsv");
    } finally {
      await server.stop();
    }
  });

  it("steps down to JSON for a controller that reads neither Native nor TSV", async () => {
    const server = await new TestIngestServer(["json"]).start();
    try {
      const e = new HttpExporter({ endpoint: () => server.url, credential, log: (ev) => events.push(ev) });
      const batch = makeBatch(crypto.randomUUID(), "l4_flow_log", [agentL4Row()]);
      const next = makeBatch(batch.agentId, "l4_flow_log", [agentL4Row()]);
      expect((await e.export(batch)).code).toBe("success");
      expect((await e.export(next)).code).toBe("success");
      expect(server.received.map((r) => r.encoding)).toEqual(["native", "tsv", "json", "json"]);
      expect(e.encoding).toBe("json");
      expect(e.counters.encodingFallbacks).toBe(2);
      expect(server.storedRows).toEqual([...batch.rows, ...next.rows]);
    } finally {
      await server.stop();
    }
  });

  it("a value that does not fit its Native column: told with the agent id, sent as TSV, the valid rows kept", async () => {
    const server = await new TestIngestServer().start();
    try {
      const e = new HttpExporter({ endpoint: () => server.url, credential, log: (ev) => events.push(ev) });
      const good = [agentL4Row(), agentL4Row()];
      const batch = makeBatch(crypto.randomUUID(), "l4_flow_log", [
        good[0],
        agentL4Row({ client_port: 70_000 }),
        good[1],
      ] as Record<string, unknown>[]);
      const r = await e.export(batch);
      expect(r.code === "success" && r.response.accepted).toBe(2);
      expect(r.code === "success" && r.response.rejected.map((x) => x.index)).toEqual([1]);
      expect(server.received.map((x) => x.encoding)).toEqual(["tsv"]);
      expect(server.storedRows).toEqual(good);
      expect(e.counters.nativeEncodeErrors).toBe(1);
      expect(events).toMatchObject([
        { level: "error", agentId: batch.agentId, batchId: batch.batchId, table: "l4_flow_log", rows: 3 },
      ]);
      expect(events[0]?.error).toMatch(/NativeEncodeError: row 1, column client_port/);
      // The endpoint still gets Native for the next batch.
      const next = makeBatch(batch.agentId, "l4_flow_log", [agentL4Row()]);
      expect((await e.export(next)).code).toBe("success");
      expect(server.received.map((x) => x.encoding)).toEqual(["tsv", "native"]);
    } finally {
      await server.stop();
    }
  });

  it("a Native block the controller refuses as malformed is sent again as TSV, once", async () => {
    const batch = makeBatch(crypto.randomUUID(), "l4_flow_log", [agentL4Row()]);
    const malformed = {
      status: 400,
      body: {
        error: { code: "BAD_REQUEST", message: "row 0, column close_type: expected a lower-case token" },
      },
    };
    script = [malformed, ok(batch.batchId)];
    const e = exporter([]);
    expect((await e.export(batch)).code).toBe("success");
    expect(seen.map((s) => s.type)).toEqual([INGEST_NATIVE_CONTENT_TYPE, INGEST_TSV_CONTENT_TYPE]);
    expect(e.counters.nativeRefused).toBe(1);
    expect(e.encoding).toBe("native");
    // Refused as TSV too: a failure, no third try.
    seen = [];
    script = [malformed, { status: 400, body: { error: { code: "BAD_REQUEST", message: "header: rows" } } }];
    expect((await e.export(batch)).code).toBe("failure");
    expect(seen).toHaveLength(2);
  });
});
