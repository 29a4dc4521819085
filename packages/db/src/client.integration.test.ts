import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TenantScopeError } from "./client.ts";
import { verifyPassword } from "./passwords.ts";
import {
  seedAgent,
  seedAgentGroup,
  seedDemo,
  seedEnrollmentToken,
  seedMembership,
  seedOrg,
  seedUser,
} from "./seed.ts";
import { createTestDatabase, type TestDatabase } from "./testing.ts";
import { generateToken, hashToken } from "./tokens.ts";

describe("tenant-scoped client", () => {
  let t: TestDatabase;
  let orgA: string;
  let orgB: string;
  let groupB: { id: string };
  let agentB: { id: string; name: string };
  let keyB: { id: string; tokenHash: string };

  beforeAll(async () => {
    t = await createTestDatabase("client");
    orgA = (await seedOrg(t.db)).id;
    orgB = (await seedOrg(t.db)).id;
    await seedAgent(t.db, orgA);
    groupB = await seedAgentGroup(t.db, orgB, { name: "shared-name" });
    await seedAgentGroup(t.db, orgA, { name: "shared-name" });
    agentB = await seedAgent(t.db, orgB, groupB.id);
    const api = generateToken("api");
    keyB = await t.db.unsafe.apiKey.create({
      data: { orgId: orgB, name: "ci", role: "editor", prefix: api.prefix, tokenHash: api.hash },
    });
  });
  afterAll(async () => {
    await t?.drop();
  });

  it("refuses to exist without a valid organization id", () => {
    for (const bad of [
      undefined,
      null,
      "",
      "  ",
      "org-a",
      "1234",
      `${crypto.randomUUID()}x`,
      "' OR 1=1 --",
    ]) {
      expect(() => t.db.forOrg(bad as unknown as string)).toThrow(TenantScopeError);
    }
    expect(() => t.db.forOrg(undefined as unknown as string)).toThrow(/needs an organization id/);
    expect(() => t.db.forOrg("nope")).toThrow(/malformed/);
  });

  it("reads only its own organization's rows", async () => {
    const a = t.db.forOrg(orgA);
    const groups = await a.agentGroup.findMany();
    expect(groups.map((g) => g.orgId)).toEqual(groups.map(() => orgA));
    expect(await a.agent.findMany({ where: { id: agentB.id } })).toEqual([]);
    expect(await a.agent.findUnique({ where: { id: agentB.id } })).toBeNull();
    expect(await a.agent.findFirst({ where: { OR: [{ id: agentB.id }, { name: agentB.name }] } })).toBeNull();
    expect(await a.agentGroup.findUnique({ where: { id: groupB.id } })).toBeNull();
    expect(await a.apiKey.findUnique({ where: { tokenHash: keyB.tokenHash } })).toBeNull();
    expect(
      await a.agentGroup.findUnique({ where: { orgId_name: { orgId: orgB, name: "shared-name" } } }),
    ).toBeNull();
    await expect(a.agent.findUniqueOrThrow({ where: { id: agentB.id } })).rejects.toThrow();
    expect(await a.agent.count()).toBe(1);
    expect(await a.agent.count({ where: { id: agentB.id } })).toBe(0);
    expect(await a.apiKey.count()).toBe(0);
    expect((await a.agent.aggregate({ _count: { _all: true } }))._count._all).toBe(1);
    const byOrg = await a.agent.groupBy({ by: ["orgId"], _count: { _all: true } });
    expect(byOrg).toEqual([{ orgId: orgA, _count: { _all: 1 } }]);
    await expect(a.agent.findMany({ where: { orgId: orgB } })).rejects.toThrow(TenantScopeError);
  });

  it("cannot update or delete another organization's rows", async () => {
    const a = t.db.forOrg(orgA);
    await expect(a.agent.update({ where: { id: agentB.id }, data: { name: "stolen" } })).rejects.toThrow();
    expect((await a.agent.updateMany({ where: { id: agentB.id }, data: { name: "stolen" } })).count).toBe(0);
    expect((await a.agentGroup.updateMany({ data: { description: "mine" } })).count).toBe(2);
    await expect(
      a.apiKey.update({ where: { id: keyB.id }, data: { revokedAt: new Date() } }),
    ).rejects.toThrow();
    await expect(a.agent.delete({ where: { id: agentB.id } })).rejects.toThrow();
    await expect(a.agentGroup.delete({ where: { id: groupB.id } })).rejects.toThrow();
    await expect(a.apiKey.delete({ where: { id: keyB.id } })).rejects.toThrow();
    expect((await a.apiKey.deleteMany({})).count).toBe(0);
    expect((await a.agent.deleteMany({ where: { id: agentB.id } })).count).toBe(0);

    const still = await t.db.unsafe.agent.findUniqueOrThrow({ where: { id: agentB.id } });
    expect(still.name).toBe(agentB.name);
    expect(await t.db.unsafe.apiKey.findUnique({ where: { id: keyB.id } })).toMatchObject({
      revokedAt: null,
    });
    expect(await t.db.unsafe.agentGroup.findUnique({ where: { id: groupB.id } })).toMatchObject({
      description: null,
    });
  });

  it("cannot create into, or move rows to, another organization", async () => {
    const a = t.db.forOrg(orgA);
    const groupA = await a.agentGroup.findFirstOrThrow();
    await expect(a.agentGroup.create({ data: { orgId: orgB, name: "sneaky" } })).rejects.toThrow(
      /another organization/,
    );
    await expect(
      a.apiKey.createMany({
        data: [{ orgId: orgB, name: "k", role: "admin", prefix: "p", tokenHash: hashToken("x") }],
      }),
    ).rejects.toThrow(TenantScopeError);
    await expect(a.agentGroup.update({ where: { id: groupA.id }, data: { orgId: orgB } })).rejects.toThrow(
      TenantScopeError,
    );
    await expect(
      a.agentGroup.upsert({ where: { id: groupB.id }, create: { orgId: orgB, name: "x" }, update: {} }),
    ).rejects.toThrow(TenantScopeError);
    // Own org id: stamped and accepted. A foreign group id is refused by the composite FK.
    const made = await a.agentGroup.create({ data: { orgId: orgA, name: "new" } });
    expect(made.orgId).toBe(orgA);
    await expect(
      a.agent.create({ data: { orgId: orgA, groupId: groupB.id, name: "x", hostname: "x" } }),
    ).rejects.toThrow();
    expect(await t.db.unsafe.agentGroup.count({ where: { orgId: orgB } })).toBe(1);
  });

  it("keeps platform tables and raw SQL out of reach, users only through membership", async () => {
    const a = t.db.forOrg(orgA);
    await expect(a.dataNode.findMany()).rejects.toThrow(/platform-level/);
    await expect(a.session.findMany()).rejects.toThrow(TenantScopeError);
    await expect(a.$queryRaw`SELECT 1`).rejects.toThrow(/db.unsafe/);
    await expect(a.organization.delete({ where: { id: orgA } })).rejects.toThrow(TenantScopeError);
    expect((await a.organization.findMany()).map((o) => o.id)).toEqual([orgA]);
    await expect(a.organization.findUnique({ where: { id: orgB } })).rejects.toThrow(TenantScopeError);

    const member = await seedUser(t.db);
    const outsider = await seedUser(t.db);
    await seedMembership(t.db, { orgId: orgA, userId: member.id, role: "viewer" });
    expect((await a.user.findMany()).map((u) => u.id)).toEqual([member.id]);
    expect(await a.user.findUnique({ where: { id: outsider.id } })).toBeNull();
    await expect(a.user.update({ where: { id: member.id }, data: { name: "x" } })).rejects.toThrow(
      TenantScopeError,
    );
  });

  it("scopes interactive transactions too", async () => {
    const a = t.db.forOrg(orgA);
    const count = await a.$transaction(async (tx) => tx.agent.count());
    expect(count).toBe(1);
  });
});

describe("seeds", () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase("seed");
  });
  afterAll(async () => {
    await t?.drop();
  });

  it("seedDemo is idempotent and hands out a generated password only once", async () => {
    const first = await seedDemo(t.db);
    expect(first.createdUser).toBe(true);
    expect(first.password).toMatch(/^[A-Za-z0-9_-]{16}$/);
    const second = await seedDemo(t.db);
    const { password: _first, ...rest } = first;
    expect(second).toEqual({ ...rest, createdUser: false });
    expect(second.password).toBeUndefined();

    const user = await t.db.unsafe.user.findUnique({ where: { email: "demo@flowplane.local" } });
    expect(await verifyPassword(user?.passwordHash, first.password ?? "")).toBe(true);
    const scoped = t.db.forOrg(first.orgId);
    expect(await scoped.membership.findMany()).toMatchObject([{ userId: first.userId, role: "owner" }]);
    const [group] = await scoped.agentGroup.findMany({ include: { configs: true } });
    expect(group).toMatchObject({ name: "default", currentRevision: 1, configs: [{ revision: 1 }] });
    expect(await t.db.unsafe.organization.count()).toBe(1);
  });

  it("seedDemo uses a given password for a new user", async () => {
    await t.db.unsafe.user.delete({ where: { email: "demo@flowplane.local" } });
    const demo = await seedDemo(t.db, { password: "given-password-1" });
    expect(demo.password).toBeUndefined();
    const user = await t.db.unsafe.user.findUniqueOrThrow({ where: { email: demo.email } });
    expect(await verifyPassword(user.passwordHash, "given-password-1")).toBe(true);
  });

  it("seedEnrollmentToken returns the plain token once and stores its hash", async () => {
    const org = await seedOrg(t.db);
    const group = await seedAgentGroup(t.db, org.id);
    const tok = await seedEnrollmentToken(t.db, org.id, group.id);
    expect(tok.token.startsWith("fpe_")).toBe(true);
    const row = await t.db.unsafe.enrollmentToken.findUniqueOrThrow({
      where: { tokenHash: hashToken(tok.token) },
    });
    expect(row).not.toHaveProperty("token");
    expect(row.groupId).toBe(group.id);
  });
});
