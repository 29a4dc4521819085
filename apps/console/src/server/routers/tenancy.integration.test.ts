import { FlowplaneError } from "@flowplane/core/errors";
import { seedAgent, seedAgentGroup, seedMembership, seedOrg, seedUser } from "@flowplane/db/seed";
import { createTestDatabase, type TestDatabase } from "@flowplane/db/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ACCOUNT_LOCKED, authorizeCredentials } from "../auth/credentials.ts";
import type { SessionClaims } from "../auth/principal.ts";
import { createContext } from "../trpc/context.ts";
import { createCallerFactory, router } from "../trpc/init.ts";
import { orgProcedure } from "../trpc/procedures.ts";
import { createCaller } from "./_app.ts";
import { codeOf } from "./test-callers.ts";

// Real Postgres (a fresh migrated database), the real router, a context built from session
// claims exactly as the HTTP handler builds it.
let t: TestDatabase;
const PASSWORD = "correct horse battery staple";
const ids = {} as {
  orgA: string;
  orgB: string;
  owner: string;
  viewer: string;
  agentsA: string[];
  agentB: string;
};

// A probe router for the choke point's write path (no write procedure exists yet).
const probeRouter = router({
  writeAgents: orgProcedure("agents.write").mutation(({ ctx }) => ({ orgId: ctx.org.id, role: ctx.role })),
  conflict: orgProcedure("agents.read").query(() => {
    throw new FlowplaneError("CONFLICT", "already there");
  }),
});
const createProbeCaller = createCallerFactory(probeRouter);

async function callerFor(claims: SessionClaims | null) {
  return createCaller(await createContext({ db: t.db, claims }));
}

beforeAll(async () => {
  t = await createTestDatabase("console_trpc");
  const orgA = await seedOrg(t.db, { name: "Alpha", slug: "alpha" });
  const orgB = await seedOrg(t.db, { name: "Beta", slug: "beta" });
  const owner = await seedUser(t.db, { email: "owner@alpha.test", password: PASSWORD });
  const viewer = await seedUser(t.db, { email: "viewer@alpha.test" });
  await seedMembership(t.db, { orgId: orgA.id, userId: owner.id, role: "owner" });
  await seedMembership(t.db, { orgId: orgA.id, userId: viewer.id, role: "viewer" });
  const groupA = await seedAgentGroup(t.db, orgA.id, { name: "edge" });
  const a1 = await seedAgent(t.db, orgA.id, groupA.id);
  const a2 = await seedAgent(t.db, orgA.id, groupA.id);
  const b1 = await seedAgent(t.db, orgB.id);
  Object.assign(ids, {
    orgA: orgA.id,
    orgB: orgB.id,
    owner: owner.id,
    viewer: viewer.id,
    agentsA: [a1.id, a2.id].sort(),
    agentB: b1.id,
  });
});

afterAll(async () => {
  await t?.drop();
});

describe("orgProcedure: the tenant choke point", () => {
  it("a member lists their org's agents, and only those, with no secret fields", async () => {
    const caller = await callerFor({ userId: ids.owner, sessionVersion: 0 });
    const agents = await caller.agents.list({ orgSlug: "alpha" });
    expect(agents.map((a) => a.id).sort()).toEqual(ids.agentsA);
    expect(agents[0]).toMatchObject({ state: "online", groupName: "edge" });
    expect(Object.keys(agents[0] ?? {}).sort()).toEqual(
      [
        "appliedRevision",
        "archivedAt",
        "cpuPct",
        "dataNode",
        "groupId",
        "groupName",
        "hostname",
        "id",
        "ips",
        "lastSeenAt",
        "memBytes",
        "name",
        "packetsPerS",
        "protectiveMode",
        "state",
        "version",
      ].sort(),
    );
  });

  it("the same user asking for another org gets NOT_FOUND, as for an org that does not exist", async () => {
    const caller = await callerFor({ userId: ids.owner, sessionVersion: 0 });
    expect(await codeOf(caller.agents.list({ orgSlug: "beta" }))).toBe("NOT_FOUND");
    expect(await codeOf(caller.agents.list({ orgSlug: "no-such-org" }))).toBe("NOT_FOUND");
    expect(await codeOf(caller.org.overview({ orgSlug: "beta" }))).toBe("NOT_FOUND");
  });

  it("takes the org from the x-flowplane-org header when the input has none", async () => {
    const ctx = await createContext({
      db: t.db,
      claims: { userId: ids.owner, sessionVersion: 0 },
      headers: new Headers({ "x-flowplane-org": "alpha" }),
    });
    expect(await createCaller(ctx).agents.list({})).toHaveLength(2);
  });

  it("a viewer may read but is refused a write permission (FORBIDDEN); the owner is not", async () => {
    const viewerCtx = await createContext({ db: t.db, claims: { userId: ids.viewer, sessionVersion: 0 } });
    expect(await createCaller(viewerCtx).agents.list({ orgSlug: "alpha" })).toHaveLength(2);
    expect(await codeOf(createProbeCaller(viewerCtx).writeAgents({ orgSlug: "alpha" }))).toBe("FORBIDDEN");
    const ownerCtx = await createContext({ db: t.db, claims: { userId: ids.owner, sessionVersion: 0 } });
    expect(await createProbeCaller(ownerCtx).writeAgents({ orgSlug: "alpha" })).toEqual({
      orgId: ids.orgA,
      role: "owner",
    });
  });

  it("maps FlowplaneError codes to tRPC codes", async () => {
    const ctx = await createContext({ db: t.db, claims: { userId: ids.owner, sessionVersion: 0 } });
    expect(await codeOf(createProbeCaller(ctx).conflict({ orgSlug: "alpha" }))).toBe("CONFLICT");
  });

  it("lists my orgs with my role, and the overview counts the org's own agents", async () => {
    const caller = await callerFor({ userId: ids.viewer, sessionVersion: 0 });
    expect(await caller.org.list()).toEqual([{ id: ids.orgA, name: "Alpha", slug: "alpha", role: "viewer" }]);
    const overview = await caller.org.overview({ orgSlug: "alpha" });
    expect(overview).toMatchObject({ role: "viewer", agents: { total: 2, online: 2 }, groups: 1 });
  });
});

describe("sessions", () => {
  it("no session, an unknown user or a stale session version is UNAUTHORIZED", async () => {
    expect(await codeOf((await callerFor(null)).org.list())).toBe("UNAUTHORIZED");
    expect(
      await codeOf(
        (await callerFor({ userId: "00000000-0000-0000-0000-000000000000", sessionVersion: 0 })).org.list(),
      ),
    ).toBe("UNAUTHORIZED");
    // Sign-out everywhere bumps the version: an old JWT stops working at once.
    await t.db.unsafe.user.update({ where: { id: ids.viewer }, data: { sessionVersion: { increment: 1 } } });
    expect(await codeOf((await callerFor({ userId: ids.viewer, sessionVersion: 0 })).org.list())).toBe(
      "UNAUTHORIZED",
    );
    expect(await (await callerFor({ userId: ids.viewer, sessionVersion: 1 })).org.list()).toHaveLength(1);
  });

  it("health is public", async () => {
    expect((await (await callerFor(null)).health()).status).toBe("ok");
  });
});

describe("credentials authorize", () => {
  it("accepts the right password and carries the session version", async () => {
    const user = await authorizeCredentials(t.db, { email: " Owner@Alpha.test ", password: PASSWORD });
    expect(user).toMatchObject({ id: ids.owner, email: "owner@alpha.test", sessionVersion: 0 });
  });

  it("refuses a bad password, an unknown email, a user without a password and malformed input", async () => {
    expect(await authorizeCredentials(t.db, { email: "owner@alpha.test", password: "wrong" })).toBeNull();
    expect(await authorizeCredentials(t.db, { email: "nobody@alpha.test", password: PASSWORD })).toBeNull();
    expect(await authorizeCredentials(t.db, { email: "viewer@alpha.test", password: PASSWORD })).toBeNull();
    expect(await authorizeCredentials(t.db, { email: "not-an-email", password: PASSWORD })).toBeNull();
    expect(await authorizeCredentials(t.db, undefined)).toBeNull();
  });

  it("refuses a locked account even with the right password", async () => {
    await t.db.unsafe.user.update({
      where: { id: ids.owner },
      data: { lockedUntil: new Date(Date.now() + 60_000) },
    });
    await expect(
      authorizeCredentials(t.db, { email: "owner@alpha.test", password: PASSWORD }),
    ).rejects.toThrow(ACCOUNT_LOCKED);
    await t.db.unsafe.user.update({ where: { id: ids.owner }, data: { lockedUntil: null } });
  });
});
