import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createLogger } from "@flowplane/core/log";
import { seedAgentGroup, seedEnrollmentToken, seedOrg } from "@flowplane/db/seed";
import { createTestDatabase, type TestDatabase } from "@flowplane/db/testing";
import { createTestClickhouse, type TestClickhouse } from "@flowplane/query/testing";
import { agentL4Row } from "@flowplane/query/testing-fixtures";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CredentialHolder,
  DiskSpool,
  enroll,
  HttpExporter,
  makeBatch,
  SpoolingSender,
  SyncLoop,
} from "../../agent/src/controller-link/index.ts";
import { createAgentRuntime } from "../src/agents/wiring.ts";
import { buildControllerServer } from "../src/http/server.ts";
import { unsafeRebalanceDataNodes } from "../src/jobs/rebalance.ts";
import { redisUrl, STATS } from "./harness.ts";

const DATA_NODE_MAIN = fileURLToPath(new URL("../src/ingest/data-node-main.ts", import.meta.url));
/**
 * Enrols one agent with the org's token and links it the way `run` does: a sync loop that learns
 * its data node, and an exporter that sends to whatever node the loop was last given.
 */
async function enrolLinkedAgent(url: string, enrollmentToken: string, hostname: string, deadlineMs: number) {
  const e = await enroll(url, { enrollmentToken, hostname, ips: [], agentVersion: "t", os: "linux" });
  const credential = new CredentialHolder(e.credential);
  const loop = new SyncLoop({
    controllerUrl: url,
    agentId: e.agentId,
    credential,
    stats: () => STATS,
    runState: () => "running",
    applyConfig: async () => {},
  });
  const exporter = new HttpExporter({ endpoint: () => loop.ingestUrl, credential, deadlineMs });
  return { agentId: e.agentId, loop, exporter };
}

/** A distinct agent-side L4 row per flow id (the failover checks count rows, not their values). */
const flowRow = (flowId: number) =>
  agentL4Row({ flow_id: String(flowId), client_port: 1024 + (flowId % 60_000) });

describe("data-node failover", () => {
  let tdb: TestDatabase;
  let ch: TestClickhouse;
  let app: FastifyInstance;
  let url: string;
  let closeRuntime: () => Promise<void>;
  let redis: Awaited<ReturnType<typeof createAgentRuntime>>["agentApi"]["redis"];
  const dir = mkdtempSync(join(tmpdir(), "fp-failover-"));
  const children: ChildProcess[] = [];

  async function startNode(name: string): Promise<{ id: string; url: string; child: ChildProcess }> {
    const readyFile = join(dir, `${name}.ready.json`);
    const child = spawn(process.execPath, ["--import", "tsx", DATA_NODE_MAIN], {
      env: {
        ...process.env,
        DATABASE_URL: tdb.url,
        CLICKHOUSE_URL: ch.url,
        CLICKHOUSE_DATABASE: ch.database,
        REDIS_URL: redisUrl,
        DATA_NODE_NAME: name,
        DATA_NODE_PORT: "0",
        DATA_NODE_HEARTBEAT_S: "0.5",
        DATA_NODE_READY_FILE: readyFile,
      },
      stdio: ["ignore", "ignore", "pipe"],
    });
    children.push(child);
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const deadline = Date.now() + 60_000;
    while (!existsSync(readyFile)) {
      if (child.exitCode !== null) throw new Error(`data node ${name} exited: ${stderr}`);
      if (Date.now() > deadline) throw new Error(`data node ${name} did not start: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return { ...JSON.parse(readFileSync(readyFile, "utf8")), child };
  }

  beforeAll(async () => {
    tdb = await createTestDatabase("ctl_failover");
    ch = await createTestClickhouse("ctl_failover");
    const runtime = await createAgentRuntime({
      databaseUrl: tdb.url,
      redisUrl,
      clickhouse: ch.client,
      log: createLogger("controller-test"),
      jobs: false,
    });
    closeRuntime = runtime.close;
    redis = runtime.agentApi.redis;
    app = buildControllerServer({
      log: createLogger("controller-test"),
      probes: {},
      agentApi: runtime.agentApi,
    });
    await app.listen({ host: "127.0.0.1", port: 0 });
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
    await app?.close();
    await closeRuntime?.();
    await ch?.drop();
    await tdb?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a killed node's agents move to the live one within a few seconds; every row stored once", async () => {
    const [a, b] = await Promise.all([startNode("dn-a"), startNode("dn-b")]);
    const org = await seedOrg(tdb.db);
    const group = await seedAgentGroup(tdb.db, org.id, { syncIntervalS: 5 });
    const token = await seedEnrollmentToken(tdb.db, org.id, group.id);

    const agents: { i: number; agentId: string; loop: SyncLoop; sender: SpoolingSender; seq: number }[] = [];
    for (let i = 0; i < 4; i++) {
      const { agentId, loop, exporter } = await enrolLinkedAgent(url, token.token, `h${i}`, 300);
      const sender = new SpoolingSender(exporter, await DiskSpool.open(join(dir, `spool-${i}`), 16 << 20), {
        deadlineMs: 300,
      });
      agents.push({ i, agentId, loop, sender, seq: 0 });
    }
    const produced = { rows: 0 };
    const sendRound = async () => {
      for (const ag of agents) {
        const rows = Array.from({ length: 20 }, () => flowRow(ag.i * 1_000_000 + ++ag.seq));
        produced.rows += rows.length;
        await ag.sender.send(makeBatch(ag.agentId, "l4_flow_log", rows));
      }
    };

    await unsafeRebalanceDataNodes(tdb.db, redis, { nodeMissAfterS: 2 });
    for (const ag of agents) await ag.loop.tick();
    const urls = agents.map((ag) => ag.loop.ingestUrl);
    expect(new Set(urls)).toEqual(new Set([a.url, b.url]));
    for (let r = 0; r < 3; r++) await sendRound();

    // Node A dies without a word; its agents spool what they cannot send.
    a.child.kill("SIGKILL");
    const killedAt = Date.now();
    for (let r = 0; r < 3; r++) await sendRound();
    const onA = agents.filter((ag) => ag.loop.ingestUrl === a.url);
    expect(onA.length).toBeGreaterThan(0);

    // What a controller's scheduled job and the agents' sync loops do, run at a fast pace here.
    while (agents.some((ag) => ag.loop.ingestUrl === a.url)) {
      if (Date.now() - killedAt > 20_000) throw new Error("agents did not leave the dead node within 20 s");
      await unsafeRebalanceDataNodes(tdb.db, redis, { nodeMissAfterS: 2 });
      for (const ag of agents) await ag.loop.tick();
      await new Promise((r) => setTimeout(r, 200));
    }
    const failoverS = (Date.now() - killedAt) / 1000;
    console.log(
      `failover: node killed -> all its agents sending elsewhere in ${failoverS.toFixed(1)} s (miss time 2 s)`,
    );
    expect(failoverS).toBeLessThan(3 * 2 + 2);
    expect(agents.every((ag) => ag.loop.ingestUrl === b.url)).toBe(true);

    for (const ag of agents) expect((await ag.sender.flush()).pending).toBe(0);
    for (let r = 0; r < 3; r++) await sendRound();

    const rs = await ch.client.query({
      query: "SELECT count() AS n, uniqExact(flow_id) AS flows FROM l4_flow_log WHERE org_id = {org:UUID}",
      query_params: { org: org.id },
      format: "JSONEachRow",
    });
    expect(await rs.json()).toEqual([{ n: String(produced.rows), flows: String(produced.rows) }]);
    expect(produced.rows).toBe(4 * 9 * 20);
  }, 120_000);

  it("a node killed in the middle of a replay's insert: its agents move and ClickHouse holds every row once, rollups too", async () => {
    // The first test's nodes out of the way: this one starts with one live node.
    for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
    await tdb.db.unsafe.dataNode.updateMany({ data: { state: "down" } });
    const c = await startNode("dn-c");
    const org = await seedOrg(tdb.db);
    const group = await seedAgentGroup(tdb.db, org.id, { syncIntervalS: 5 });
    const token = await seedEnrollmentToken(tdb.db, org.id, group.id);
    const agents: { loop: SyncLoop; sender: SpoolingSender; spool: DiskSpool; agentId: string }[] = [];
    for (let i = 0; i < 4; i++) {
      const { agentId, loop, exporter } = await enrolLinkedAgent(url, token.token, `r${i}`, 10_000);
      const spool = await DiskSpool.open(join(dir, `replay-spool-${i}`), 64 << 20);
      agents.push({
        loop,
        sender: new SpoolingSender(exporter, spool, { deadlineMs: 10_000 }),
        spool,
        agentId,
      });
    }
    await unsafeRebalanceDataNodes(tdb.db, redis, { nodeMissAfterS: 2 });
    for (const ag of agents) await ag.loop.tick();
    expect(agents.every((ag) => ag.loop.ingestUrl === c.url)).toBe(true);

    // What the agents kept while no node took their batches: 4 x 2 000 rows each.
    let produced = 0;
    for (const [i, ag] of agents.entries()) {
      for (let k = 0; k < 4; k++) {
        const rows = Array.from({ length: 2_000 }, (_, j) =>
          flowRow(5_000_000 + i * 100_000 + k * 2_000 + j),
        );
        produced += rows.length;
        await ag.spool.put(makeBatch(ag.agentId, "l4_flow_log", rows));
      }
    }
    // The replay; node C is killed as soon as it has journaled an insert of this org's batches,
    // that is while that insert is being sent to or written by ClickHouse.
    const replays = agents.map((ag) => ag.sender.flush().catch(() => undefined));
    const journaled = async () => {
      for (const id of await redis.smembers("fp:ingest:flushes")) {
        const record = await redis.get(`fp:ingest:flush:${id}`);
        if (record && (JSON.parse(record) as { members: { orgId: string }[] }).members[0]?.orgId === org.id)
          return id;
      }
      return undefined;
    };
    const until = Date.now() + 60_000;
    let orphan = await journaled();
    while (orphan === undefined) {
      if (Date.now() > until) throw new Error("node C journaled no insert within 60 s");
      await new Promise((r) => setTimeout(r, 2));
      orphan = await journaled();
    }
    c.child.kill("SIGKILL");
    await Promise.all(replays);

    // Another node comes up; the agents move to it and replay until nothing is left. Batches of the
    // orphaned insert are answered 429 until node D redoes it (its writer's lease lapses in 5 s).
    const d = await startNode("dn-d");
    const deadline = Date.now() + 90_000;
    for (;;) {
      await unsafeRebalanceDataNodes(tdb.db, redis, { nodeMissAfterS: 2 });
      for (const ag of agents) await ag.loop.tick();
      let pending = 0;
      for (const ag of agents) pending += (await ag.sender.flush()).pending;
      if (pending === 0 && agents.every((ag) => ag.loop.ingestUrl === d.url)) break;
      if (Date.now() > deadline) throw new Error(`replay not finished within 90 s (${pending} batches left)`);
      await new Promise((r) => setTimeout(r, 500));
    }

    const rs = await ch.client.query({
      query: `SELECT count() AS n, uniqExact(flow_id) AS flows,
                (SELECT sum(reports) FROM l4_edge_1h WHERE org_id = {org:UUID}) AS reports
              FROM l4_flow_log WHERE org_id = {org:UUID}`,
      query_params: { org: org.id },
      format: "JSONEachRow",
    });
    expect(await rs.json()).toEqual([
      { n: String(produced), flows: String(produced), reports: String(produced) },
    ]);
    expect(produced).toBe(4 * 4 * 2_000);
    // The insert node C left behind was redone (or found landed) and its journal entry cleared.
    expect(await redis.exists(`fp:ingest:flush:${orphan}`)).toBe(0);
  }, 180_000);
});
