import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { diagnoseAgent } from "../src/agents/diagnose.ts";
import { unsafeRegisterDataNode } from "../src/ingest/data-node.ts";
import { bearer, enroll, STATS, seedTenant, startHarness, syncBody, type THarness } from "./harness.ts";

describe("why an agent sends nothing", () => {
  let h: THarness;
  beforeAll(async () => {
    h = await startHarness("ctl_diagnose");
  });
  afterAll(async () => {
    await h?.close();
  });

  const codes = async (orgId: string, agentId: string) =>
    (await diagnoseAgent({ db: h.tdb.db, redis: h.redis }, h.tdb.db.forOrg(orgId), agentId)).map(
      (d) => d.code,
    );

  it("names each reason from what the controller knows", async () => {
    const { org, token } = await seedTenant(h);
    const e = await enroll(h, token.token);
    expect(await codes(org.id, e.agentId)).toEqual(["never_synced"]);

    await h.app.inject({
      method: "POST",
      url: "/v1/agents/sync",
      headers: bearer(e.credential),
      payload: syncBody(e.agentId, { appliedRevision: 1 }),
    });
    expect(await codes(org.id, e.agentId)).toEqual(["ok"]);

    await h.app.inject({
      method: "POST",
      url: "/v1/agents/sync",
      headers: bearer(e.credential),
      payload: syncBody(e.agentId, {
        appliedRevision: 1,
        state: "protective",
        stats: { ...STATS, packetsPerS: 0, spoolBytes: 4096 },
        applyResult: { revision: 1, ok: false, error: "bpf: syntax error" },
      }),
    });
    expect(await codes(org.id, e.agentId)).toEqual([
      "no_packets",
      "spooling",
      "protective_mode",
      "config_failed",
    ]);

    await unsafeRegisterDataNode(h.tdb.db, {
      name: `dn-${crypto.randomUUID()}`,
      url: "http://127.0.0.1:7300",
      capacity: 10,
    });
    await h.tdb.db
      .forOrg(org.id)
      .agent.update({ where: { id: e.agentId }, data: { lastSeenAt: new Date(Date.now() - 3600_000) } });
    const all = await codes(org.id, e.agentId);
    expect(all.slice(0, 2)).toEqual(["silent", "no_data_node"]);
  });

  it("says why an overloaded agent sheds or protects itself, from its governor's report", async () => {
    const { org, token } = await seedTenant(h);
    const e = await enroll(h, token.token);
    const overload = {
      step: "shedding",
      reason: "512000 packets/s above maxPps 200000",
      elapsedS: 60,
      offeredPackets: 9_000_000,
      processedPackets: 6_000_000,
      shedPackets: 3_000_000,
      shedBytes: 1_800_000_000,
      stoppedPackets: 0,
      keepRatio: 0.4,
      sentRows: 1000,
      heldRows: 0,
      cpuHostPct: 30,
      escalations: 1,
    };
    const sync = (state: string, o: Record<string, unknown>, packetsPerS = 1500) =>
      h.app.inject({
        method: "POST",
        url: "/v1/agents/sync",
        headers: bearer(e.credential),
        payload: syncBody(e.agentId, {
          appliedRevision: 1,
          state,
          stats: { ...STATS, packetsPerS, overload: { ...overload, ...o } },
        }),
      });
    // The data node the test above registered has no agents: its "no_data_node" is not this test's.
    const diagnose = async () =>
      (await diagnoseAgent({ db: h.tdb.db, redis: h.redis }, h.tdb.db.forOrg(org.id), e.agentId)).filter(
        (d) => d.code !== "no_data_node",
      );

    expect((await sync("degraded", {})).statusCode).toBe(200);
    expect(await diagnose()).toEqual([
      {
        code: "shedding",
        message:
          "shedding load: 512000 packets/s above maxPps 200000 (3000000 packets shed, 0 rows held in its spool since it started)",
      },
    ]);

    await sync(
      "protective",
      { step: "capture_stopped", reason: "memory 700 MiB above maxMemBytes 512 MiB" },
      0,
    );
    const agent = await h.tdb.db.forOrg(org.id).agent.findUniqueOrThrow({ where: { id: e.agentId } });
    expect(agent.protectiveMode).toBe(true);
    expect(agent.state).toBe("degraded");
    // No "no_packets": the stopped capture is the reason, and it is said once.
    expect(await diagnose()).toEqual([
      {
        code: "protective_mode",
        message:
          "protective mode: memory 700 MiB above maxMemBytes 512 MiB (capture is stopped, sync and sending go on)",
      },
    ]);
  });
});
