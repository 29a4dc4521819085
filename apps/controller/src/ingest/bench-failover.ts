/**
 * The failover part of the ingest bench (bench-ingest.ts): two data node processes, agents that
 * sync at their group's default interval and send a batch every 250 ms, the fleet jobs with their
 * default schedule in this process; one node is SIGKILLed. Measures the seconds until every agent
 * it had has stored a batch through another address, and checks every row produced is stored once.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "@flowplane/core/log";
import type { Db } from "@flowplane/db/client";
import { seedAgentGroup, seedEnrollmentToken, seedOrg } from "@flowplane/db/seed";
import type { TestClickhouse } from "@flowplane/query/testing";
import { agentL4Row } from "@flowplane/query/testing-fixtures";
import { Redis } from "ioredis";
import {
  CredentialHolder,
  DiskSpool,
  enroll,
  HttpExporter,
  makeBatch,
  SpoolingSender,
  SyncLoop,
} from "../../../agent/src/controller-link/index.ts";
import { unsafeRebalanceDataNodes } from "../jobs/rebalance.ts";
import { DEFAULT_REBALANCE, startFleetJobs } from "../jobs/scheduler.ts";
import { ZDataNodeEnv } from "./data-node-env.ts";

const AGENTS = 6;
const ROWS_PER_BATCH = 50;
const stats = {
  cpuPct: 1,
  memBytes: 5e7,
  packetsPerS: 10,
  bytesPerS: 1e3,
  drops: 0,
  flows: 1,
  spoolBytes: 0,
  version: "bench",
};

export async function benchFailover(opts: {
  db: Db;
  databaseUrl: string;
  redisUrl: string;
  controllerUrl: string;
  clickhouse: TestClickhouse;
  workDir: string;
  log: Logger;
}) {
  const redis = new Redis(opts.redisUrl, { maxRetriesPerRequest: 2 });
  // A private queue prefix: other processes' fleet jobs on this Redis must not run ours.
  const jobs = await startFleetJobs({
    db: opts.db,
    connection: redis,
    log: opts.log,
    prefix: `fp:bench:${randomBytes(4).toString("hex")}`,
  });
  const children: ChildProcess[] = [];
  const loops: SyncLoop[] = [];
  let sending = true;
  try {
    const nodes = await Promise.all(
      ["a", "b"].map((n) => startNode(`bench-dn-${n}-${randomBytes(3).toString("hex")}`)),
    );
    const org = await seedOrg(opts.db);
    const group = await seedAgentGroup(opts.db, org.id); // the default sync interval
    const token = await seedEnrollmentToken(opts.db, org.id, group.id);
    const agents: {
      loop: SyncLoop;
      sender: SpoolingSender;
      agentId: string;
      seq: number;
      movedAt?: number;
    }[] = [];
    for (let i = 0; i < AGENTS; i++) {
      const e = await enroll(opts.controllerUrl, {
        enrollmentToken: token.token,
        hostname: `bench-${i}`,
        ips: [],
        agentVersion: "bench",
        os: "linux",
      });
      const credential = new CredentialHolder(e.credential);
      const loop = new SyncLoop({
        controllerUrl: opts.controllerUrl,
        agentId: e.agentId,
        credential,
        stats: () => stats,
        runState: () => "running",
        applyConfig: async () => {},
      });
      const exporter = new HttpExporter({ endpoint: () => loop.ingestUrl, credential, deadlineMs: 1_000 });
      const spool = await DiskSpool.open(join(opts.workDir, `spool-${i}`), 16 << 20);
      agents.push({
        loop,
        sender: new SpoolingSender(exporter, spool, { deadlineMs: 1_000 }),
        agentId: e.agentId,
        seq: 0,
      });
      loops.push(loop);
    }
    // Agents start: one sync each after a placement (as after the rebalance job's first tick).
    await unsafeRebalanceDataNodes(opts.db, redis, { nodeMissAfterS: DEFAULT_REBALANCE.nodeMissAfterS });
    for (const a of agents) await a.loop.tick();
    for (const a of agents) a.loop.start();
    const syncIntervalS = agents[0]?.loop.intervalS ?? 10;

    let produced = 0;
    let killedAt: number | undefined;
    let victimUrl: string | undefined;
    const senders = agents.map(async (a, i) => {
      while (sending) {
        const rows = Array.from({ length: ROWS_PER_BATCH }, () => flowRow(i * 1_000_000 + ++a.seq));
        produced += rows.length;
        const endpoint = a.loop.ingestUrl;
        await a.sender.flush();
        const r = await a.sender.send(makeBatch(a.agentId, "l4_flow_log", rows));
        if (
          killedAt !== undefined &&
          a.movedAt === undefined &&
          r.code === "success" &&
          endpoint !== victimUrl
        )
          a.movedAt = Date.now();
        await new Promise((res) => setTimeout(res, 250));
      }
    });

    await new Promise((r) => setTimeout(r, 2_000));
    // The node holding agents (placement may have put them all on one): killing an empty one measures nothing.
    const victim = nodes.find((n) => agents.some((a) => a.loop.ingestUrl === n.url));
    if (!victim) throw new Error("no data node holds an agent");
    victimUrl = victim.url;
    const onVictim = agents.filter((a) => a.loop.ingestUrl === victim.url);
    for (const a of agents) if (!onVictim.includes(a)) a.movedAt = 0; // not affected
    victim.child.kill("SIGKILL");
    killedAt = Date.now();
    const deadline = killedAt + 10 * syncIntervalS * 1000;
    while (onVictim.some((a) => a.movedAt === undefined)) {
      if (Date.now() > deadline)
        throw new Error(`agents still on the killed node after ${10 * syncIntervalS} s`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const failoverS = (Math.max(...onVictim.map((a) => a.movedAt ?? 0)) - killedAt) / 1000;
    sending = false;
    await Promise.all(senders);
    for (const a of agents) {
      const until = Date.now() + 60_000;
      while ((await a.sender.flush()).pending > 0) {
        if (Date.now() > until) throw new Error("spooled batches not replayed within 60 s");
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    const rs = await opts.clickhouse.client.query({
      query: "SELECT count() AS n FROM l4_flow_log WHERE org_id = {org:UUID}",
      query_params: { org: org.id },
      format: "JSONEachRow",
    });
    const [{ n }] = (await rs.json()) as [{ n: string }];
    const env = ZDataNodeEnv.shape.DATA_NODE_HEARTBEAT_S.parse(undefined);
    return {
      agents: AGENTS,
      nodes: nodes.length,
      movedAgents: onVictim.length,
      failoverS,
      syncIntervalS,
      heartbeatS: env,
      missAfterS: DEFAULT_REBALANCE.nodeMissAfterS,
      rebalanceEveryS: DEFAULT_REBALANCE.everyMs / 1000,
      produced,
      stored: Number(n),
    };
  } finally {
    sending = false;
    await Promise.all(loops.map((l) => l.stop()));
    for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
    await jobs.close();
    await redis.quit().catch(() => {});
  }

  async function startNode(name: string): Promise<{ url: string; child: ChildProcess }> {
    const readyFile = join(opts.workDir, `${name}.ready.json`);
    const main = new URL("./data-node-main.ts", import.meta.url).pathname;
    const child = spawn(process.execPath, ["--import", "tsx", main], {
      env: {
        ...process.env,
        DATABASE_URL: opts.databaseUrl,
        CLICKHOUSE_URL: opts.clickhouse.url,
        CLICKHOUSE_DATABASE: opts.clickhouse.database,
        REDIS_URL: opts.redisUrl,
        DATA_NODE_NAME: name,
        DATA_NODE_PORT: "0",
        DATA_NODE_READY_FILE: readyFile,
      },
      stdio: ["ignore", "ignore", "inherit"],
    });
    children.push(child);
    const deadline = Date.now() + 60_000;
    while (!existsSync(readyFile)) {
      if (child.exitCode !== null || Date.now() > deadline)
        throw new Error(`data node ${name} did not start`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return { ...(JSON.parse(readFileSync(readyFile, "utf8")) as { url: string }), child };
  }
}

/** A distinct agent-side L4 row per flow id (the failover checks count rows, not their values). */
const flowRow = (flowId: number) =>
  agentL4Row({ flow_id: String(flowId), client_port: 1024 + (flowId % 60_000) });
