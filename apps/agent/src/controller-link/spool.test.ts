import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { CredentialHolder } from "./credential.ts";
import { HttpExporter, makeBatch } from "./exporter.ts";
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
    const one = Buffer.byteLength(JSON.stringify(batchOf(10)));
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
});
