/**
 * Overload limits end to end: the real agent binary replays a capture as fast as it can
 * (`run --pcap --speed max --loop`) against a listening controller (real Postgres, Redis,
 * ClickHouse) whose group caps it far below that. Every number asserted comes from the agent's own
 * heartbeat counters (differences over its own clock), never from the test's wall clock.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { sharedPcapsDir } from "@flowplane/core/shared-dir";
import { seedAgentGroup, seedEnrollmentToken, seedOrg } from "@flowplane/db/seed";
import { type TAgentConfigInput, type TAgentOverload, ZAgentConfig, ZAgentStats } from "@flowplane/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { diagnoseAgent } from "../../controller/src/agents/diagnose.ts";
import {
  redisUrl,
  startListeningController,
  type TListeningController,
} from "../../controller/test/harness.ts";

const BIN = join(dirname(fileURLToPath(import.meta.url)), "../bin/flowplane-agent.js");
const PCAP = join(sharedPcapsDir(), "erspan-vlan-http-tls.pcap");
const GiB = 1024 ** 3;
const MAX_PPS = 2000;

/** Only the limit under test binds: CPU at the whole host, memory and send rate far above use. */
const config = (limits: Partial<NonNullable<TAgentConfigInput["limits"]>>) =>
  ZAgentConfig.parse({
    limits: { maxCpuPct: 100, maxMemBytes: 8 * GiB, maxBps: 1e12, maxSendRowsPerS: 10_000_000, ...limits },
  });

type Beat = { state: string; protectiveMode: boolean; spoolBytes: number; o: TAgentOverload };

describe("run under overload limits", () => {
  let controller: TListeningController;
  let child: ChildProcess | undefined;
  let stderr = "";
  const stateDir = mkdtempSync(join(tmpdir(), "fp-agent-overload-"));

  beforeAll(async () => {
    controller = await startListeningController("agent_overload");
  });
  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child?.once("exit", r));
      child.kill("SIGINT");
      await exited;
    }
    await controller?.close();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it("caps packets/s at maxPps, says it sheds, protects itself on memory, and recovers when the limits rise", {
    timeout: 420_000,
  }, async () => {
    const { tdb } = controller;
    const org = await seedOrg(tdb.db);
    const group = await seedAgentGroup(tdb.db, org.id, {
      syncIntervalS: 1,
      config: config({ maxPps: MAX_PPS }) as never,
    });
    const token = await seedEnrollmentToken(tdb.db, org.id, group.id);
    const orgDb = tdb.db.forOrg(org.id);
    let revision = 1;
    const setLimits = async (limits: Parameters<typeof config>[0]) => {
      revision++;
      await orgDb.agentGroupConfig.create({
        data: { orgId: org.id, groupId: group.id, revision, config: config(limits) as never },
      });
      await orgDb.agentGroup.update({ where: { id: group.id }, data: { currentRevision: revision } });
    };

    child = spawn(
      process.execPath,
      [
        BIN,
        "run",
        "--pcap",
        PCAP,
        "--speed",
        "max",
        "--loop",
        "--controller",
        controller.url,
        "--token",
        token.token,
        "--state-dir",
        stateDir,
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    child.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString();
    });

    // Heartbeats as the controller stored them, one per distinct agent second.
    const beats: Beat[] = [];
    const latest = async (): Promise<Beat | undefined> => {
      const a = await orgDb.agent.findFirst({ where: { groupId: group.id } });
      const s = ZAgentStats.safeParse(a?.stats);
      if (!a || !s.success || !s.data.overload) return undefined;
      const b = {
        state: a.state,
        protectiveMode: a.protectiveMode,
        spoolBytes: s.data.spoolBytes,
        o: s.data.overload,
      };
      if (beats.at(-1)?.o.elapsedS !== b.o.elapsedS) beats.push(b);
      return b;
    };
    const waitFor = async (what: string, pred: (b: Beat) => boolean, timeoutMs = 60_000): Promise<Beat> => {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const b = await latest();
        if (b && pred(b)) return b;
        if (Date.now() > until || child?.exitCode !== null) {
          throw new Error(`${what}: not seen; last heartbeat ${JSON.stringify(b)}; agent stderr:\n${stderr}`);
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    const diagnosis = async () => {
      const a = await orgDb.agent.findFirstOrThrow({ where: { groupId: group.id } });
      const redis = new (await import("ioredis")).Redis(redisUrl, { maxRetriesPerRequest: 1 });
      try {
        return await diagnoseAgent({ db: tdb.db, redis }, orgDb, a.id);
      } finally {
        await redis.quit();
      }
    };
    /** Per-second rates between two heartbeats, on the agent's own clock. */
    const rates = (a: Beat, b: Beat) => {
      const dt = b.o.elapsedS - a.o.elapsedS;
      return {
        dt,
        processed: (b.o.processedPackets - a.o.processedPackets) / dt,
        offered: (b.o.offeredPackets - a.o.offeredPackets) / dt,
        shed: (b.o.shedPackets - a.o.shedPackets) / dt,
      };
    };

    // 1. Shedding: offered far above maxPps, processed held at it.
    const first = await waitFor("shedding", (b) => b.o.step === "shedding" && b.o.shedPackets > 0);
    const later = await waitFor("5 s of shedding", (b) => b.o.elapsedS >= first.o.elapsedS + 5);
    const r = rates(first, later);
    expect(r.offered).toBeGreaterThan(3 * MAX_PPS); // really overloaded, or the test proves nothing
    expect(r.processed).toBeLessThanOrEqual(MAX_PPS * 1.1);
    expect(r.processed).toBeGreaterThan(MAX_PPS * 0.5); // the budget is used, not starved
    expect(r.shed).toBeGreaterThan(2 * MAX_PPS);
    const o = later.o;
    expect(o.processedPackets + o.shedPackets + o.stoppedPackets).toBe(o.offeredPackets);
    expect(o.reason).toMatch(new RegExp(`packets/s above maxPps ${MAX_PPS}`));
    expect(later.state).toBe("degraded");
    expect(later.protectiveMode).toBe(false);
    expect((await diagnosis()).find((d) => d.code === "shedding")?.message).toMatch(
      /^shedding load: \d+ packets\/s above maxPps 2000 \(\d+ packets shed/,
    );

    // 1b. Telemetry send rate capped too: rows beyond it wait in the spool, counted as held, and
    // the rows sent stay within the limit plus one batch the bucket may go into debt for (one made
    // just before the new limit arrived can still hold 5000).
    const MAX_ROWS = 200;
    await setLimits({ maxPps: MAX_PPS, maxSendRowsPerS: MAX_ROWS });
    const holding = await waitFor("rows held", (b) => b.o.heldRows > 0 && b.spoolBytes > 0);
    const held = await waitFor("5 s of holding", (b) => b.o.elapsedS >= holding.o.elapsedS + 5);
    expect(held.o.reason).toMatch(/rows held in the spool: \d+ rows\/s at maxSendRowsPerS 200/);
    expect(held.o.sentRows - holding.o.sentRows).toBeLessThanOrEqual(
      MAX_ROWS * (held.o.elapsedS - holding.o.elapsedS) + 5000,
    );
    expect(held.o.heldRows).toBeGreaterThan(holding.o.heldRows);
    // Batches of one second's worth under the limit: some go out every second, not one big one.
    expect(held.o.sentRows).toBeGreaterThan(holding.o.sentRows);

    // 2. The limits rise through the configuration: applied at the next sync, nothing shed from
    // then on, and after five calm seconds the agent says it runs normally again.
    await setLimits({ maxPps: 50_000_000 });
    const normal = await waitFor("recovery to normal", (b) => b.o.step === "normal");
    // The held rows start going out once the limit allows (at ingest speed, after the step is
    // already back); all of them are checked below, once capture is stopped: while the loop
    // replays at full speed a loaded machine's ingest can fall behind what the agent produces.
    await waitFor("rows sent again", (b) => b.o.sentRows > normal.o.sentRows);
    expect(normal.o.escalations).toBe(1);
    const after = await waitFor("3 s of normal", (b) => b.o.elapsedS >= normal.o.elapsedS + 3);
    expect(after.o.shedPackets).toBe(normal.o.shedPackets);
    expect(rates(normal, after).processed).toBeGreaterThan(MAX_PPS); // no longer capped
    await waitFor("state online", (b) => b.state === "online" && b.o.step === "normal");
    expect(stderr).toMatch(new RegExp(`applied configuration revision ${revision}`));

    // 3. Memory above its limit (any RSS is above the 32 MiB minimum): one step every 3 s, up to
    // protective (L7 off) and then capture stopped, where no packet is processed at all.
    await setLimits({ maxPps: 50_000_000, maxMemBytes: 32 * 1024 * 1024 });
    const protective = await waitFor("protective", (b) => b.o.step === "protective");
    expect(protective.state).toBe("degraded");
    expect(protective.protectiveMode).toBe(true);
    expect((await diagnosis()).find((d) => d.code === "protective_mode")?.message).toMatch(
      /^protective mode: memory \d+ MiB above maxMemBytes 32 MiB \(L7 parsing is off/,
    );
    const stopped = await waitFor("capture stopped", (b) => b.o.step === "capture_stopped");
    const stillStopped = await waitFor("2 s stopped", (b) => b.o.elapsedS >= stopped.o.elapsedS + 2);
    expect(stillStopped.o.step).toBe("capture_stopped");
    expect(stillStopped.o.processedPackets).toBe(stopped.o.processedPackets);
    expect(stillStopped.protectiveMode).toBe(true);
    // Nothing new is produced while capture is stopped, but sending goes on: every held row leaves.
    await waitFor("spool drained", (b) => b.spoolBytes === 0, 150_000);

    // 4. Memory allowed again: down one step per five calm seconds, back to normal and processing.
    await setLimits({ maxPps: 50_000_000, maxMemBytes: 8 * GiB });
    const steps: string[] = [];
    const back = await waitFor(
      "recovery from capture stopped",
      (b) => {
        if (steps.at(-1) !== b.o.step) steps.push(b.o.step);
        return b.o.step === "normal";
      },
      90_000,
    );
    expect(steps).toEqual(["capture_stopped", "protective", "shedding", "normal"]);
    const resumed = await waitFor("processing again", (b) => b.o.elapsedS >= back.o.elapsedS + 2);
    expect(resumed.o.processedPackets).toBeGreaterThan(back.o.processedPackets);
    expect(resumed.protectiveMode).toBe(false);
  });
});
