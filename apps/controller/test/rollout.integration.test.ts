import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { unsafeAdvanceRollouts } from "../src/jobs/advance-rollouts.ts";
import { bearer, enroll, seedTenant, startHarness, syncBody, type THarness } from "./harness.ts";

describe("staged configuration rollout", () => {
  let h: THarness;
  beforeAll(async () => {
    h = await startHarness("ctl_rollout");
  });
  afterAll(async () => {
    await h?.close();
  });

  const sync = async (credential: string, body: object) =>
    (
      await h.app.inject({
        method: "POST",
        url: "/v1/agents/sync",
        headers: bearer(credential),
        payload: body,
      })
    ).json();

  it("canaries first, the rest after the hold; a failing canary halts it and everyone stays on the stable revision", async () => {
    const { org, group, token } = await seedTenant(h);
    const db = h.tdb.db.forOrg(org.id);
    const agents = [];
    for (let i = 0; i < 4; i++) agents.push(await enroll(h, token.token));
    // Everyone on revision 1 (an unstaged group: stable follows current).
    for (const a of agents) {
      await sync(
        a.credential,
        syncBody(a.agentId, { appliedRevision: 1, applyResult: { revision: 1, ok: true } }),
      );
    }
    expect(await db.agentGroup.findUniqueOrThrow({ where: { id: group.id } })).toMatchObject({
      stableRevision: 1,
    });

    const save = async (revision: number, config: object) => {
      await db.agentGroupConfig.create({ data: { orgId: org.id, groupId: group.id, revision, config } });
      await db.agentGroup.update({ where: { id: group.id }, data: { currentRevision: revision } });
    };
    await db.agentGroup.update({ where: { id: group.id }, data: { canaryPercent: 25, canaryHoldS: 60 } });
    await save(2, { capture: { snaplen: 512 } });

    const answers = [];
    for (const a of agents)
      answers.push(await sync(a.credential, syncBody(a.agentId, { appliedRevision: 1 })));
    const canaryIdx = answers.findIndex((r) => r.revision === 2);
    expect(answers.filter((r) => r.revision === 2)).toHaveLength(1);
    expect(answers.filter((r) => r.revision === 1 && r.config === undefined)).toHaveLength(3);
    expect(answers[canaryIdx].config.capture.snaplen).toBe(512);
    const canary = agents[canaryIdx] as (typeof agents)[number];

    expect((await unsafeAdvanceRollouts(h.tdb.db)).map((e) => e.action)).toEqual(["started"]);
    await sync(
      canary.credential,
      syncBody(canary.agentId, { appliedRevision: 2, applyResult: { revision: 2, ok: true } }),
    );
    expect(await unsafeAdvanceRollouts(h.tdb.db)).toEqual([]); // healthy, but the hold has not passed
    expect(await unsafeAdvanceRollouts(h.tdb.db, new Date(Date.now() + 61_000))).toMatchObject([
      { action: "promoted", revision: 2 },
    ]);
    for (const a of agents.filter((x) => x !== canary)) {
      const r = await sync(a.credential, syncBody(a.agentId, { appliedRevision: 1 }));
      expect(r.revision).toBe(2);
      expect(r.config.capture.snaplen).toBe(512);
      await sync(
        a.credential,
        syncBody(a.agentId, { appliedRevision: 2, applyResult: { revision: 2, ok: true } }),
      );
    }

    // Revision 3 breaks on the canary: the rollout halts and says why; nobody else gets it.
    await save(3, { capture: { interfaces: ["does-not-exist0"] } });
    const r3 = await sync(canary.credential, syncBody(canary.agentId, { appliedRevision: 2 }));
    expect(r3.revision).toBe(3);
    expect((await unsafeAdvanceRollouts(h.tdb.db)).map((e) => e.action)).toEqual(["started"]);
    await sync(
      canary.credential,
      syncBody(canary.agentId, {
        appliedRevision: 2,
        applyResult: { revision: 3, ok: false, error: "no such device" },
      }),
    );
    const halted = await unsafeAdvanceRollouts(h.tdb.db, new Date(Date.now() + 3600_000));
    expect(halted).toMatchObject([{ action: "halted", revision: 3 }]);
    expect(halted[0]?.message).toMatch(/no such device/);
    const g = await db.agentGroup.findUniqueOrThrow({ where: { id: group.id } });
    expect(g).toMatchObject({ rolloutState: "halted", stableRevision: 2, currentRevision: 3 });
    for (const a of agents) {
      const r = await sync(a.credential, syncBody(a.agentId, { appliedRevision: 2 }));
      expect(r.revision).toBe(2);
      expect(r.config).toBeUndefined();
    }
  });
});
