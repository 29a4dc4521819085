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
});
