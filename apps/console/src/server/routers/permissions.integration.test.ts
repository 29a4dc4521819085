import { randomUUID } from "node:crypto";
import { can, generateToken, ROLES, type TPermission, type TRole } from "@flowplane/db";
import { seedAgent, seedAgentGroup, seedMembership, seedOrg, seedUser } from "@flowplane/db/seed";
import { createTestDatabase, type TestDatabase } from "@flowplane/db/testing";
import { createTestClickhouse, type TestClickhouse } from "@flowplane/query/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createContext } from "../trpc/context.ts";
import { appRouter, createCaller } from "./_app.ts";
import { setAnalysisClickhouse } from "./analysis/shared.ts";
import { setCloudSyncQueueForTests } from "./clouds/sync-queue.ts";
import { codeOf } from "./test-callers.ts";

// Every org mutation, tried by each role, by a member of another org and by API keys, against
// the real router and a fresh database. Each attempt gets its own org and fixtures, so a
// successful call never changes what the next one sees.
let t: TestDatabase;
let ch: TestClickhouse;
const users = {} as Record<TRole | "outsider", string>;

type Caller = ReturnType<typeof createCaller>;
type Fixture = { orgId: string; slug: string; groupId: string; otherGroupId: string; agentId: string };
type Case = { path: string; call: (c: Caller, f: Fixture) => Promise<unknown> };

async function fixture(): Promise<Fixture> {
  const org = await seedOrg(t.db);
  for (const role of ROLES) await seedMembership(t.db, { orgId: org.id, userId: users[role], role });
  const group = await seedAgentGroup(t.db, org.id, { name: "edge" });
  const other = await seedAgentGroup(t.db, org.id, { name: "core" });
  const agent = await seedAgent(t.db, org.id, group.id);
  return { orgId: org.id, slug: org.slug, groupId: group.id, otherGroupId: other.id, agentId: agent.id };
}
async function freshMember(orgId: string, role: TRole = "viewer") {
  const u = await seedUser(t.db);
  await seedMembership(t.db, { orgId, userId: u.id, role });
  return u.id;
}

const TELEMETRY_RANGE = { from: 1_000_000, to: 3_600_000_000 };
const CASES: Case[] = [
  { path: "org.rename", call: (c, f) => c.org.rename({ orgSlug: f.slug, name: "Renamed" }) },
  { path: "org.delete", call: (c, f) => c.org.delete({ orgSlug: f.slug, confirmSlug: f.slug }) },
  {
    path: "members.invite",
    call: (c, f) => c.members.invite({ orgSlug: f.slug, email: "new@x.test", role: "viewer" }),
  },
  {
    path: "members.revokeInvitation",
    call: async (c, f) => {
      const inv = await t.db.unsafe.invitation.create({
        data: {
          orgId: f.orgId,
          email: "i@x.test",
          role: "viewer",
          tokenHash: generateToken("api").hash,
          expiresAt: new Date(Date.now() + 86_400_000),
        },
      });
      return c.members.revokeInvitation({ orgSlug: f.slug, invitationId: inv.id });
    },
  },
  {
    path: "members.changeRole",
    call: async (c, f) =>
      c.members.changeRole({ orgSlug: f.slug, userId: await freshMember(f.orgId), role: "editor" }),
  },
  {
    path: "members.remove",
    call: async (c, f) => c.members.remove({ orgSlug: f.slug, userId: await freshMember(f.orgId) }),
  },
  {
    path: "apiKeys.create",
    call: (c, f) => c.apiKeys.create({ orgSlug: f.slug, name: "ci", role: "viewer" }),
  },
  {
    path: "apiKeys.revoke",
    call: async (c, f) => {
      const k = generateToken("api");
      const key = await t.db.unsafe.apiKey.create({
        data: { orgId: f.orgId, name: "k", role: "viewer", prefix: k.prefix, tokenHash: k.hash },
      });
      return c.apiKeys.revoke({ orgSlug: f.slug, keyId: key.id });
    },
  },
  { path: "groups.create", call: (c, f) => c.groups.create({ orgSlug: f.slug, name: "new-group" }) },
  {
    path: "groups.saveConfig",
    call: (c, f) =>
      c.groups.saveConfig({
        orgSlug: f.slug,
        groupId: f.groupId,
        baseRevision: 1,
        config: { limits: { maxCpuPct: 30 } },
      }),
  },
  {
    path: "groups.rollback",
    call: (c, f) =>
      c.groups.rollback({ orgSlug: f.slug, groupId: f.groupId, toRevision: 1, baseRevision: 1 }),
  },
  {
    path: "enrollment.create",
    call: (c, f) =>
      c.enrollment.create({ orgSlug: f.slug, groupId: f.groupId, name: "tok", expiresInHours: 1 }),
  },
  {
    path: "enrollment.revoke",
    call: async (c, f) => {
      const k = generateToken("enrol");
      const row = await t.db.unsafe.enrollmentToken.create({
        data: {
          orgId: f.orgId,
          groupId: f.groupId,
          name: "t",
          prefix: k.prefix,
          tokenHash: k.hash,
          expiresAt: new Date(Date.now() + 3_600_000),
        },
      });
      return c.enrollment.revoke({ orgSlug: f.slug, tokenId: row.id });
    },
  },
  {
    path: "agents.move",
    call: (c, f) => c.agents.move({ orgSlug: f.slug, agentId: f.agentId, groupId: f.otherGroupId }),
  },
  {
    path: "agents.setDisabled",
    call: (c, f) => c.agents.setDisabled({ orgSlug: f.slug, agentId: f.agentId, disabled: true }),
  },
  { path: "agents.delete", call: (c, f) => c.agents.delete({ orgSlug: f.slug, agentId: f.agentId }) },
  {
    path: "agents.setArchived",
    call: (c, f) => c.agents.setArchived({ orgSlug: f.slug, agentId: f.agentId, archived: false }),
  },
  {
    path: "groups.setRollout",
    call: (c, f) =>
      c.groups.setRollout({ orgSlug: f.slug, groupId: f.groupId, canaryPercent: 20, canaryHoldS: 60 }),
  },
  {
    path: "npb.save",
    call: (c, f) =>
      c.npb.save({
        orgSlug: f.slug,
        name: "to ids",
        priority: 10,
        enabled: true,
        groupIds: [f.groupId],
        match: { serverPorts: [443] },
        action: { destinations: [{ address: "192.0.2.10" }], encap: { type: "vxlan", vni: 100 } },
      }),
  },
  {
    path: "npb.remove",
    call: async (c, f) => {
      const p = await t.db.unsafe.packetBrokerPolicy.create({
        data: { orgId: f.orgId, name: `p-${randomUUID()}`, match: {}, action: {} },
      });
      return c.npb.remove({ orgSlug: f.slug, id: p.id });
    },
  },
  // Queries: the same matrix for reading.
  { path: "org.overview", call: (c, f) => c.org.overview({ orgSlug: f.slug }) },
  { path: "org.export", call: (c, f) => c.org.export({ orgSlug: f.slug }) },
  { path: "members.list", call: (c, f) => c.members.list({ orgSlug: f.slug }) },
  { path: "members.invitations", call: (c, f) => c.members.invitations({ orgSlug: f.slug }) },
  { path: "apiKeys.list", call: (c, f) => c.apiKeys.list({ orgSlug: f.slug }) },
  { path: "audit.list", call: (c, f) => c.audit.list({ orgSlug: f.slug }) },
  { path: "agents.list", call: (c, f) => c.agents.list({ orgSlug: f.slug }) },
  { path: "agents.get", call: (c, f) => c.agents.get({ orgSlug: f.slug, agentId: f.agentId }) },
  { path: "groups.list", call: (c, f) => c.groups.list({ orgSlug: f.slug }) },
  { path: "groups.get", call: (c, f) => c.groups.get({ orgSlug: f.slug, groupId: f.groupId }) },
  {
    path: "groups.diff",
    call: (c, f) => c.groups.diff({ orgSlug: f.slug, groupId: f.groupId, from: 1, to: 1 }),
  },
  { path: "enrollment.list", call: (c, f) => c.enrollment.list({ orgSlug: f.slug }) },
  { path: "groups.rollout", call: (c, f) => c.groups.rollout({ orgSlug: f.slug, groupId: f.groupId }) },
  { path: "dataNodes.list", call: (c, f) => c.dataNodes.list({ orgSlug: f.slug }) },
  { path: "npb.list", call: (c, f) => c.npb.list({ orgSlug: f.slug }) },
  { path: "clouds.list", call: (c, f) => c.clouds.list({ orgSlug: f.slug }) },
  { path: "clouds.history", call: (c, f) => c.clouds.history({ orgSlug: f.slug }) },
  {
    path: "clouds.create",
    call: (c, f) => c.clouds.create({ orgSlug: f.slug, account: { kind: "agents", name: randomUUID() } }),
  },
  {
    path: "clouds.remove",
    call: async (c, f) => {
      const account = await t.db.unsafe.cloudAccount.create({
        data: { orgId: f.orgId, kind: "agents", name: randomUUID(), encryptedCredentials: new Uint8Array(0) },
      });
      return c.clouds.remove({ orgSlug: f.slug, accountId: account.id });
    },
  },
  {
    path: "clouds.detail",
    call: async (c, f) => {
      const account = await t.db.unsafe.cloudAccount.create({
        data: { orgId: f.orgId, kind: "agents", name: randomUUID(), encryptedCredentials: new Uint8Array(0) },
      });
      return c.clouds.detail({ orgSlug: f.slug, accountId: account.id });
    },
  },
  {
    path: "clouds.update",
    call: async (c, f) => {
      const account = await t.db.unsafe.cloudAccount.create({
        data: { orgId: f.orgId, kind: "agents", name: randomUUID(), encryptedCredentials: new Uint8Array(0) },
      });
      return c.clouds.update({ orgSlug: f.slug, accountId: account.id, kind: "agents", name: randomUUID() });
    },
  },
  {
    path: "clouds.syncNow",
    call: async (c, f) => {
      const account = await t.db.unsafe.cloudAccount.create({
        data: { orgId: f.orgId, kind: "agents", name: randomUUID(), encryptedCredentials: new Uint8Array(0) },
      });
      // A BullMQ prefix of tests, never the controller's queue; closed after each call.
      await setCloudSyncQueueForTests({
        redisUrl: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
        prefix: "fp:test:console-perms",
      });
      try {
        return await c.clouds.syncNow({ orgSlug: f.slug, accountId: account.id });
      } finally {
        await setCloudSyncQueueForTests(undefined);
      }
    },
  },
  { path: "npb.counters", call: (c, f) => c.npb.counters({ orgSlug: f.slug, ...TELEMETRY_RANGE }) },
  {
    path: "agents.health",
    call: (c, f) => c.agents.health({ orgSlug: f.slug, agentId: f.agentId, ...TELEMETRY_RANGE }),
  },
  // Telemetry analysis (an empty ClickHouse database of this test).
  ...(
    [
      ["analysis.flows", (c, f) => c.analysis.flows({ orgSlug: f.slug, ...TELEMETRY_RANGE })],
      ["analysis.l7", (c, f) => c.analysis.l7({ orgSlug: f.slug, ...TELEMETRY_RANGE })],
      [
        "analysis.flowDetail",
        (c, f) =>
          c.analysis.flowDetail({
            orgSlug: f.slug,
            flowId: "1",
            agentId: "0190a1b2-0000-7000-8000-0000000000a1",
            at: 1_000_000,
          }),
      ],
      ["analysis.topology", (c, f) => c.analysis.topology({ orgSlug: f.slug, ...TELEMETRY_RANGE })],
      ["analysis.trace", (c, f) => c.analysis.trace({ orgSlug: f.slug, ...TELEMETRY_RANGE, traceId: "t" })],
      ["analysis.metrics", (c, f) => c.analysis.metrics({ orgSlug: f.slug, ...TELEMETRY_RANGE })],
    ] as [string, Case["call"]][]
  ).map(([path, call]) => ({ path, call })),
];

type ProcDef = { _def: { type: string; meta?: { permission?: TPermission } } };
const procedures = (appRouter._def as unknown as { procedures: Record<string, ProcDef> }).procedures;
const permissionOf = (path: string): TPermission => {
  const p = procedures[path]?._def.meta?.permission;
  if (!p) throw new Error(`${path} is not an org procedure`);
  return p;
};

const asUser = async (userId: string) =>
  createCaller(await createContext({ db: t.db, claims: { userId, sessionVersion: 0 } }));
async function asKey(orgId: string, role: TRole) {
  const k = generateToken("api");
  await t.db.unsafe.apiKey.create({
    data: { orgId, name: `key-${role}`, role, prefix: k.prefix, tokenHash: k.hash },
  });
  return createCaller(
    await createContext({
      db: t.db,
      claims: null,
      headers: new Headers({ authorization: `Bearer ${k.token}` }),
    }),
  );
}

beforeAll(async () => {
  t = await createTestDatabase("console_perms");
  ch = await createTestClickhouse("console_perms");
  setAnalysisClickhouse(ch.client);
  for (const who of [...ROLES, "outsider"] as const)
    users[who] = (await seedUser(t.db, { email: `${who}@perm.test` })).id;
  const elsewhere = await seedOrg(t.db);
  await seedMembership(t.db, { orgId: elsewhere.id, userId: users.outsider, role: "owner" });
});
afterAll(async () => {
  setAnalysisClickhouse(undefined);
  await ch?.drop();
  await t?.drop();
});

describe("permission matrix on every org procedure", () => {
  it("the table covers every org procedure of the router (queries and mutations)", () => {
    const mutations = Object.entries(procedures)
      .filter(([, p]) => p._def.meta?.permission)
      .map(([path]) => path)
      .sort();
    expect(CASES.map((c) => c.path).sort()).toEqual(mutations);
  });

  for (const testCase of CASES) {
    it(`${testCase.path}: each role as the matrix says, another org's member NOT_FOUND, API keys by their role`, async () => {
      const permission = permissionOf(testCase.path);
      const results: Record<string, string> = {};
      const expected: Record<string, string> = {};
      for (const role of ROLES) {
        const f = await fixture();
        results[role] = await codeOf(testCase.call(await asUser(users[role]), f));
        expected[role] = can(role, permission) ? "OK" : "FORBIDDEN";
        if (results[role] === "OK" && procedures[testCase.path]?._def.type === "mutation") {
          // Every successful mutation left an audit row naming its actor.
          const rows = await t.db.unsafe.auditLog.findMany({
            where: { orgId: f.orgId, actorId: users[role] },
          });
          expect(rows.length, `${testCase.path} by ${role} wrote no audit row`).toBeGreaterThan(0);
        }
      }
      const f = await fixture();
      results.outsider = await codeOf(testCase.call(await asUser(users.outsider), f));
      expected.outsider = "NOT_FOUND";
      // An API key acts with its own role in its own org, and sees no other org.
      const viewerKey = await asKey(f.orgId, "viewer");
      results.viewerKey = await codeOf(testCase.call(viewerKey, f));
      expected.viewerKey = can("viewer", permission) ? "OK" : "FORBIDDEN";
      const foreignKey = await asKey((await seedOrg(t.db)).id, "owner");
      results.foreignKey = await codeOf(testCase.call(foreignKey, await fixture()));
      expected.foreignKey = "NOT_FOUND";
      expect(results).toEqual(expected);
    });
  }
});
