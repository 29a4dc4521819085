import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { agentL4Row } from "@flowplane/query/testing-fixtures";
import { afterEach, describe, expect, it } from "vitest";
import { CredentialHolder } from "./credential.ts";
import { decodeTsvBatch, encodeTsvBatch, HttpExporter, makeBatch } from "./exporter.ts";
import { DiskSpool, SpoolingSender } from "./spool.ts";

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

  it("replays batches kept in either encoding (an older agent's .json files too) with their ids and rows", async () => {
    const dir = tempDir();
    const spool = await DiskSpool.open(dir, 1 << 20);
    const compact = makeBatch(agentId, "l4_flow_log", [agentL4Row(), agentL4Row({ group_id: 3 })]);
    await spool.put(compact);
    const older = makeBatch(agentId, "l4_flow_log", [agentL4Row()]);
    writeFileSync(join(dir, `0000000000000009-${older.batchId}.json`), JSON.stringify(older));
    expect(readdirSync(dir).map((f) => f.split(".").pop())).toEqual(["tsv", "json"]);
    const received: Buffer[] = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = Buffer.concat(chunks);
        received.push(body);
        const { batchId, rows } = decodeTsvBatch(body);
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ batchId, accepted: rows.length, rejected: [] }));
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const exporter = new HttpExporter({ endpoint: () => url, credential: new CredentialHolder("fpa_x") });
      const reopened = await DiskSpool.open(dir, 1 << 20);
      expect(await reopened.replay(exporter)).toEqual({ sent: 2, pending: 0 });
      expect(received.map((b) => decodeTsvBatch(b))).toEqual([compact, older]);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
