import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { INGEST_TSV_CONTENT_TYPE } from "@flowplane/protocol";
import { agentL4Row } from "@flowplane/query/testing-fixtures";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { CredentialHolder } from "./credential.ts";
import { HttpExporter, makeBatch } from "./exporter.ts";

type TScripted = { status: number; body: unknown; headers?: Record<string, string>; rotate?: boolean };

/** A tiny scripted HTTP peer on loopback: answers each request with the next scripted reply. */
describe("HttpExporter", () => {
  let server: Server;
  let url: string;
  let script: TScripted[] = [];
  let seen: { batchId: string; auth: string | undefined; type: string | undefined; raw: string }[] = [];
  let credential: CredentialHolder;

  beforeAll(async () => {
    server = createServer((req, res) => {
      let raw = "";
      req.on("data", (c) => {
        raw += c;
      });
      req.on("end", async () => {
        // JSON batches, or the compact encoding's JSON header line.
        const type = req.headers["content-type"];
        const head = type === "application/json" ? raw : raw.slice(0, raw.indexOf("\n"));
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

  it("sends the compact encoding by default: a JSON header line, then one TSV line per row", async () => {
    const batch = makeBatch(crypto.randomUUID(), "l4_flow_log", [agentL4Row(), agentL4Row()]);
    script = [ok(batch.batchId)];
    const r = await exporter([]).export(batch);
    expect(r.code).toBe("success");
    expect(seen[0]?.type).toBe(INGEST_TSV_CONTENT_TYPE);
    const [header, ...lines] = (seen[0]?.raw ?? "").split("\n");
    expect(JSON.parse(header ?? "")).toMatchObject({ batchId: batch.batchId, table: "l4_flow_log", rows: 2 });
    expect(lines).toHaveLength(3); // two rows and the last newline
    expect(lines[0]?.split("\t")).toHaveLength(JSON.parse(header ?? "").columns.length);
  });

  it("falls back to JSON, for this batch and the next ones, when the controller does not read it", async () => {
    const old = {
      status: 400,
      body: { error: { code: "BAD_REQUEST", message: "send the body as application/json" } },
    };
    const batch = makeBatch(crypto.randomUUID(), "l4_flow_log", [agentL4Row()]);
    const next = makeBatch(batch.agentId, "l4_flow_log", [agentL4Row()]);
    script = [old, ok(batch.batchId), ok(next.batchId)];
    const e = exporter([]);
    expect((await e.export(batch)).code).toBe("success");
    expect((await e.export(next)).code).toBe("success");
    expect(seen.map((s) => s.type)).toEqual([
      INGEST_TSV_CONTENT_TYPE,
      "application/json",
      "application/json",
    ]);
    expect(e.encoding).toBe("json");
    expect(e.counters.encodingFallbacks).toBe(1);
  });

  it("tries the compact encoding again on a new endpoint or after encodingRetryMs", async () => {
    const old = {
      status: 415,
      body: { error: { code: "UNSUPPORTED_MEDIA_TYPE", message: "send the body as application/json" } },
    };
    let now = 0;
    let endpoint = url;
    const e = new HttpExporter({
      endpoint: () => endpoint,
      credential,
      random: () => 0.5,
      sleep: async () => {},
      encodingRetryMs: 60_000,
      now: () => now,
    });
    const batch = makeBatch(crypto.randomUUID(), "l4_flow_log", [agentL4Row()]);
    script = [old, ok(batch.batchId)];
    expect((await e.export(batch)).code).toBe("success");
    expect(e.encoding).toBe("json");
    now = 59_999;
    expect(e.encoding).toBe("json");
    now = 60_000;
    expect(e.encoding).toBe("tsv");
    script = [old, ok(batch.batchId)];
    expect((await e.export(batch)).code).toBe("success");
    expect(e.encoding).toBe("json");
    // Moved to another (upgraded) data node: the compact encoding at once.
    endpoint = `${url}/`;
    expect(e.encoding).toBe("tsv");
    expect(e.counters.encodingFallbacks).toBe(2);
  });
});
