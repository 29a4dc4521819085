import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { agentL4Row, l7Row } from "@flowplane/query/testing-fixtures";
import { afterEach, describe, expect, it } from "vitest";
import { CredentialHolder } from "./credential.ts";
import {
  decodeNativeBatch,
  decodeTsvBatch,
  encodeTsvBatch,
  HttpExporter,
  makeBatch,
  type TExporterEvent,
} from "./exporter.ts";
import { DiskSpool, SpoolingSender } from "./spool.ts";
import { TestIngestServer } from "./test-ingest-server.ts";

const dirs: string[] = [];
function tempDir() {
  const d = mkdtempSync(join(tmpdir(), "fp-spool-"));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const agentId = crypto.randomUUID();
const batchOf = (n: number) =>
  makeBatch(
    agentId,
    "l4_flow_log",
    Array.from({ length: n }, (_, i) => ({ i })),
  );
/** Nothing listens on port 9: every send is a retryable network error. */
const downExporter = () =>
  new HttpExporter({
    endpoint: () => "http://127.0.0.1:9",
    credential: new CredentialHolder("fpa_x"),
    deadlineMs: 1,
    log: () => {},
  });

describe("DiskSpool", () => {
  it("keeps batches across a reopen, oldest first, and cleans half-written files", async () => {
    const dir = tempDir();
    const spool = await DiskSpool.open(dir, 1 << 20);
    const a = batchOf(2);
    const b = batchOf(3);
    await spool.put(a);
    await spool.put(b);
    await spool.put(a); // same batch id: kept once
    writeFileSync(join(dir, "0000000000000099-cut.json.tmp"), "{");
    const reopened = await DiskSpool.open(dir, 1 << 20);
    expect(reopened.size).toBe(2);
    expect(reopened.bytes).toBe(spool.bytes);
    expect(readdirSync(dir).some((f) => f.endsWith(".tmp"))).toBe(false);
    const r = await reopened.replay(downExporter());
    expect(r).toEqual({ sent: 0, pending: 2 });
  });

  it("stays within its byte bound by dropping the oldest batches, and counts them", async () => {
    const one = encodeTsvBatch(batchOf(10)).length;
    const spool = await DiskSpool.open(tempDir(), one * 3 + 10);
    const batches = [1, 2, 3, 4, 5].map(() => batchOf(10));
    for (const b of batches) await spool.put(b);
    expect(spool.size).toBe(3);
    expect(spool.bytes).toBeLessThanOrEqual(one * 3 + 10);
    expect(spool.counters.droppedBatches).toBe(2);
  });

  it("the sender spools while the controller is unreachable", async () => {
    const spool = await DiskSpool.open(tempDir(), 1 << 20);
    const sender = new SpoolingSender(downExporter(), spool);
    expect((await sender.send(batchOf(1))).code).toBe("spooled");
    expect((await sender.send(batchOf(1))).code).toBe("spooled");
    expect(spool.size).toBe(2);
  });

  it("replays batches kept in any encoding (an older agent's .json files too) with their ids and rows", async () => {
    const dir = tempDir();
    const spool = await DiskSpool.open(dir, 1 << 20);
    const native = makeBatch(agentId, "l4_flow_log", [agentL4Row(), agentL4Row({ group_id: 3 })]);
    await spool.put(native);
    const compact = makeBatch(agentId, "l4_flow_log", [agentL4Row({ client_port: 70_000 })]);
    await spool.put(compact); // no Native form for that port: kept as TSV
    const older = makeBatch(agentId, "l4_flow_log", [agentL4Row()]);
    writeFileSync(join(dir, `0000000000000009-${older.batchId}.json`), JSON.stringify(older));
    expect(readdirSync(dir).map((f) => f.split(".").pop())).toEqual(["native", "tsv", "json"]);
    const server = await new TestIngestServer().start();
    try {
      const exporter = new HttpExporter({
        endpoint: () => server.url,
        credential: new CredentialHolder("fpa_x"),
        log: () => {},
      });
      const reopened = await DiskSpool.open(dir, 1 << 20);
      expect(await reopened.replay(exporter)).toEqual({ sent: 3, pending: 0 });
      expect(server.received.map((r) => [r.batchId, r.encoding])).toEqual([
        [native.batchId, "native"],
        [compact.batchId, "tsv"],
        [older.batchId, "native"],
      ]);
      // A row that omits an optional column comes back with its default, as the store keeps it.
      expect(decodeNativeBatch(server.received[0]?.body as Buffer)).toEqual({
        ...native,
        rows: native.rows.map((r) => ({ group_id: 0, ...(r as object) })),
      });
      expect(decodeTsvBatch(server.received[1]?.body as Buffer)).toEqual(compact);
      expect(decodeNativeBatch(server.received[2]?.body as Buffer)).toEqual(older);
      expect(server.stored.get(compact.batchId)?.rows).toEqual([]); // the controller rejects the row
    } finally {
      await server.stop();
    }
  });

  it("keeps a Native batch as a .native file while the data node is down and replays it as written when it is back", async () => {
    const node = await new TestIngestServer().start();
    await node.stop(); // the port stays known: the same node comes back on it
    const dir = tempDir();
    const events: TExporterEvent[] = [];
    const exporter = new HttpExporter({
      endpoint: () => node.url,
      credential: new CredentialHolder("fpa_x"),
      deadlineMs: 1,
      log: (e) => events.push(e),
    });
    const spool = await DiskSpool.open(dir, 1 << 20);
    const sender = new SpoolingSender(exporter, spool, { deadlineMs: 1 });
    const l4 = makeBatch(agentId, "l4_flow_log", [agentL4Row(), agentL4Row({ server_ip: "2001:db8::80" })]);
    const { org_id: _o, agent_id: _a, ...l7 } = l7Row();
    const l7Batch = makeBatch(agentId, "l7_flow_log", [l7]);
    expect((await sender.send(l4)).code).toBe("spooled");
    expect((await sender.send(l7Batch)).code).toBe("spooled");
    const files = readdirSync(dir).sort();
    expect(files.map((f) => f.slice(17))).toEqual([`${l4.batchId}.native`, `${l7Batch.batchId}.tsv`]);
    const kept = readFileSync(join(dir, files[0] as string));
    expect(await sender.flush()).toEqual({ sent: 0, pending: 2 });

    await node.start();
    try {
      expect(await sender.flush()).toEqual({ sent: 2, pending: 0 });
      expect(node.received.map((r) => [r.batchId, r.encoding, r.status])).toEqual([
        [l4.batchId, "native", 200],
        [l7Batch.batchId, "tsv", 200],
      ]);
      expect(node.received[0]?.body).toEqual(kept); // byte for byte as spooled
      expect(node.stored.get(l4.batchId)?.rows).toEqual(l4.rows);
      expect(node.stored.get(l7Batch.batchId)?.rows).toHaveLength(1);
      expect(readdirSync(dir)).toEqual([]);
      // The same batch replayed again (a crash before the spool forgot it): answered, not stored twice.
      await spool.put(l4);
      expect(await sender.flush()).toEqual({ sent: 1, pending: 0 });
      expect(exporter.counters.duplicates).toBe(1);
      expect(node.storedRows).toHaveLength(3);
      expect(events).toEqual([]);
    } finally {
      await node.stop();
    }
  });

  it("replays a .native file to a node that does not read Native as TSV, same batch id, same rows", async () => {
    const dir = tempDir();
    const spool = await DiskSpool.open(dir, 1 << 20);
    const batch = makeBatch(agentId, "l4_flow_log", [
      agentL4Row({
        flow_id: "18446744073709551615",
        client_ip: "fe80::1",
        tunnel_outer_src: "",
        is_final: true,
      }),
      agentL4Row({ client_ip: "192.0.2.1", is_final: false }),
    ]);
    await spool.put(batch);
    expect(readdirSync(dir)[0]).toMatch(/\.native$/);
    const older = await new TestIngestServer(["tsv", "json"]).start();
    try {
      const exporter = new HttpExporter({
        endpoint: () => older.url,
        credential: new CredentialHolder("fpa_x"),
        log: () => {},
      });
      expect(await spool.replay(exporter)).toEqual({ sent: 1, pending: 0 });
      expect(older.received.map((r) => [r.batchId, r.encoding, r.status])).toEqual([
        [batch.batchId, "native", 400],
        [batch.batchId, "tsv", 200],
      ]);
      expect(older.stored.get(batch.batchId)?.rows).toEqual(batch.rows);
      // Spooled while that node is the endpoint: kept as TSV, what it reads.
      const next = makeBatch(agentId, "l4_flow_log", [agentL4Row()]);
      await spool.put(next, exporter);
      expect(readdirSync(dir)[0]).toMatch(/\.tsv$/);
      // For a JSON-only node still as TSV (a quarter of JSON's bytes), sent as JSON at replay.
      older.reads = new Set(["json"]);
      expect(await spool.replay(exporter)).toEqual({ sent: 1, pending: 0 });
      expect(exporter.encoding).toBe("json");
      const third = makeBatch(agentId, "l4_flow_log", [agentL4Row()]);
      await spool.put(third, exporter);
      expect(readdirSync(dir)[0]).toMatch(/\.tsv$/);
      expect(await spool.replay(exporter)).toEqual({ sent: 1, pending: 0 });
      expect(older.received.slice(-1).map((r) => [r.batchId, r.encoding])).toEqual([[third.batchId, "json"]]);
      expect(older.stored.get(third.batchId)?.rows).toEqual(third.rows);
    } finally {
      await older.stop();
    }
  });
});
