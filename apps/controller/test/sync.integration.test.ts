import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, enroll, STATS, seedTenant, startHarness, syncBody, type THarness } from "./harness.ts";

/** Saves revision n+1 of a group's config the way the console does (immutable rows, moving pointer). */
async function saveRevision(h: THarness, orgId: string, groupId: string, config: object): Promise<number> {
  const db = h.tdb.db.forOrg(orgId);
  const group = await db.agentGroup.findUniqueOrThrow({ where: { id: groupId } });
  const revision = group.currentRevision + 1;
  await db.agentGroupConfig.create({ data: { orgId, groupId, revision, config } });
  await db.agentGroup.update({ where: { id: groupId }, data: { currentRevision: revision } });
  return revision;
}

describe("POST /v1/agents/sync", () => {
  let h: THarness;
  beforeAll(async () => {
    h = await startHarness("ctl_sync", { options: { credentialMaxAgeS: 3600 } });
  });
  afterAll(async () => {
    await h?.close();
  });

  const sync = (credential: string, body: object) =>
    h.app.inject({ method: "POST", url: "/v1/agents/sync", headers: bearer(credential), payload: body });

  it("stores the heartbeat and sends the configuration only when the revision changed", async () => {
    const { org, group, token } = await seedTenant(h, { syncIntervalS: 5 });
    const e = await enroll(h, token.token);

    const first = await sync(e.credential, syncBody(e.agentId));
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({ revision: 1, syncIntervalS: 5 });
    expect(first.json().config.capture.interfaces).toEqual(["*"]);
    expect(first.json().rotateCredential).toBeUndefined();

    const stored = await h.tdb.db.forOrg(org.id).agent.findUniqueOrThrow({ where: { id: e.agentId } });
    expect(stored.state).toBe("online");
    expect(stored.lastSeenAt).toBeInstanceOf(Date);
    expect(stored.stats).toEqual(STATS);
    expect(stored.version).toBe("0.1.0");

    const unchanged = await sync(
      e.credential,
      syncBody(e.agentId, { appliedRevision: 1, state: "protective" }),
    );
    expect(unchanged.json()).toMatchObject({ revision: 1 });
    expect(unchanged.json().config).toBeUndefined();
    const protective = await h.tdb.db.forOrg(org.id).agent.findUniqueOrThrow({ where: { id: e.agentId } });
    expect(protective).toMatchObject({ state: "degraded", protectiveMode: true, appliedRevision: 1 });

    const rev2 = await saveRevision(h, org.id, group.id, {
      capture: { bpf: "tcp port 80" },
      syncIntervalS: 3,
    });
    const changed = await sync(e.credential, syncBody(e.agentId, { appliedRevision: 1 }));
    expect(changed.json()).toMatchObject({ revision: rev2, syncIntervalS: 3 });
    expect(changed.json().config.capture.bpf).toBe("tcp port 80");
  });

  it("records applied and failed revisions; a failed revision is not resent, the last good one stays effective", async () => {
    const { org, group, token } = await seedTenant(h);
    const e = await enroll(h, token.token);
    await sync(
      e.credential,
      syncBody(e.agentId, { appliedRevision: 1, applyResult: { revision: 1, ok: true } }),
    );
    const rev2 = await saveRevision(h, org.id, group.id, { capture: { interfaces: ["eth9"] } });

    const failed = await sync(
      e.credential,
      syncBody(e.agentId, {
        appliedRevision: 1,
        applyResult: { revision: rev2, ok: false, error: "no interface eth9" },
      }),
    );
    expect(failed.statusCode).toBe(200);
    expect(failed.json().config).toBeUndefined();
    const db = h.tdb.db.forOrg(org.id);
    expect(await db.agent.findUniqueOrThrow({ where: { id: e.agentId } })).toMatchObject({
      appliedRevision: 1,
      lastConfigRevision: rev2,
      lastConfigOk: false,
      lastConfigError: "no interface eth9",
    });
    // Next interval, no new result: still not resent (the agent keeps revision 1 running).
    expect(
      (await sync(e.credential, syncBody(e.agentId, { appliedRevision: 1 }))).json().config,
    ).toBeUndefined();

    const rev3 = await saveRevision(h, org.id, group.id, { capture: { interfaces: ["lo"] } });
    const next = await sync(e.credential, syncBody(e.agentId, { appliedRevision: 1 }));
    expect(next.json().config.capture.interfaces).toEqual(["lo"]);
    await sync(
      e.credential,
      syncBody(e.agentId, { appliedRevision: rev3, applyResult: { revision: rev3, ok: true } }),
    );
    expect(await db.agent.findUniqueOrThrow({ where: { id: e.agentId } })).toMatchObject({
      appliedRevision: rev3,
      lastConfigRevision: rev3,
      lastConfigOk: true,
      lastConfigError: null,
    });
  });

  it("rotates an old credential; the previous one works until the agent uses the new one", async () => {
    const { org, token } = await seedTenant(h);
    const e = await enroll(h, token.token);
    const db = h.tdb.db.forOrg(org.id);
    await db.agent.update({
      where: { id: e.agentId },
      data: { credentialIssuedAt: new Date(Date.now() - 7200_000) },
    });

    const r1 = await sync(e.credential, syncBody(e.agentId));
    const lost = r1.json().rotateCredential as string;
    expect(lost).toMatch(/^fpa_/);
    // The agent "lost" that response and syncs again with the old credential: still accepted, and
    // the unconfirmed credential is replaced by a fresh one.
    const r2 = await sync(e.credential, syncBody(e.agentId));
    expect(r2.statusCode).toBe(200);
    const fresh = r2.json().rotateCredential as string;
    expect(fresh).toMatch(/^fpa_/);
    expect(fresh).not.toBe(lost);
    expect((await sync(lost, syncBody(e.agentId))).statusCode).toBe(401);

    // Using the new credential confirms it: no further rotation, and the old one stops working.
    const r3 = await sync(fresh, syncBody(e.agentId));
    expect(r3.statusCode).toBe(200);
    expect(r3.json().rotateCredential).toBeUndefined();
    const old = await sync(e.credential, syncBody(e.agentId));
    expect(old.statusCode).toBe(401);
    expect(old.json().error.code).toBe("UNAUTHORIZED");
    expect((await db.agent.findUniqueOrThrow({ where: { id: e.agentId } })).credentialPrevHash).toBeNull();
  });

  it("a disabled or deleted agent is refused from its next request on", async () => {
    const { org, token } = await seedTenant(h);
    const a = await enroll(h, token.token);
    const b = await enroll(h, token.token);
    expect((await sync(a.credential, syncBody(a.agentId))).statusCode).toBe(200);
    const db = h.tdb.db.forOrg(org.id);
    await db.agent.update({ where: { id: a.agentId }, data: { disabledAt: new Date(), state: "disabled" } });
    const refused = await sync(a.credential, syncBody(a.agentId));
    expect(refused.statusCode).toBe(401);
    expect(refused.json().error.message).toMatch(/disabled/);

    await db.agent.delete({ where: { id: b.agentId } });
    expect((await sync(b.credential, syncBody(b.agentId))).statusCode).toBe(401);
  });

  it("answers bad requests with codes an agent can act on", async () => {
    const { token } = await seedTenant(h);
    const e = await enroll(h, token.token);
    const noAuth = await h.app.inject({
      method: "POST",
      url: "/v1/agents/sync",
      payload: syncBody(e.agentId),
    });
    expect(noAuth.statusCode).toBe(401);

    const invalid = await sync(
      e.credential,
      syncBody(e.agentId, { state: "sleeping", stats: { ...STATS, drops: -1 } }),
    );
    expect(invalid.statusCode).toBe(400);
    expect(
      invalid
        .json()
        .error.issues.map((i: { path: string }) => i.path)
        .sort(),
    ).toEqual(["state", "stats.drops"]);

    const other = await sync(e.credential, syncBody(crypto.randomUUID()));
    expect(other.statusCode).toBe(403);

    const { protocolVersion: _, ...unversioned } = syncBody(e.agentId);
    const old = await sync(e.credential, unversioned);
    expect(old.statusCode).toBe(426);
    expect(old.json().error.message).toMatch(/upgrade the agent/);

    const notJson = await h.app.inject({
      method: "POST",
      url: "/v1/agents/sync",
      headers: { ...bearer(e.credential), "content-type": "application/json" },
      payload: "{nope",
    });
    expect(notJson.statusCode).toBe(400);
    expect(notJson.json().error.code).toBe("BAD_REQUEST");
  });
});
