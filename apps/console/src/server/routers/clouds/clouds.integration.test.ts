import { randomBytes } from "node:crypto";
import { openSecret, SecretsKey } from "@flowplane/db/clouds";
import { seedMembership, seedOrg, seedUser } from "@flowplane/db/seed";
import { createTestDatabase, type TestDatabase } from "@flowplane/db/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callerAs } from "../test-callers.ts";

// Cloud accounts through the real router and a real Postgres, as members of two orgs. The sealed
// credentials are a marker string, so any leak into an answer is visible in its JSON.
let t: TestDatabase;
const SECRET = "AKIA-MARKER-never-shown";
const ids = {} as {
  viewerA: string;
  ownerB: string;
  slugA: string;
  slugB: string;
  awsA: string;
  k8sA: string;
};
const as = (userId: string) => callerAs(t.db, userId);

beforeAll(async () => {
  t = await createTestDatabase("console_clouds");
  const [orgA, orgB] = [await seedOrg(t.db), await seedOrg(t.db)];
  const [viewerA, ownerB] = [await seedUser(t.db), await seedUser(t.db)];
  await seedMembership(t.db, { orgId: orgA.id, userId: viewerA.id, role: "viewer" });
  await seedMembership(t.db, { orgId: orgB.id, userId: ownerB.id, role: "owner" });
  const sealed = Buffer.from(SECRET);
  const db = t.db.unsafe;
  const aws = await db.cloudAccount.create({
    data: { orgId: orgA.id, kind: "aws", name: "prod", encryptedCredentials: sealed, lastSyncAt: new Date() },
  });
  const k8s = await db.cloudAccount.create({
    data: {
      orgId: orgA.id,
      kind: "kubernetes",
      name: "cluster",
      encryptedCredentials: sealed,
      lastError: "kubernetes: GET /api/v1/nodes: 401 Unauthorized",
    },
  });
  const resource = (accountId: string, kind: "vpc" | "subnet" | "host", n: number, deleted = false) =>
    db.cloudResource.create({
      data: {
        orgId: orgA.id,
        accountId,
        kind,
        externalId: `${kind}-${n}`,
        name: `${kind} ${n}`,
        tagId: n,
        ...(deleted ? { deletedAt: new Date() } : {}),
      },
    });
  const vpc = await resource(aws.id, "vpc", 1);
  await resource(aws.id, "subnet", 2);
  await resource(aws.id, "subnet", 3);
  const gone = await resource(aws.id, "host", 4, true);
  await db.cloudResourceChange.createMany({
    data: [
      {
        orgId: orgA.id,
        resourceId: vpc.id,
        action: "created",
        after: { name: "old" },
        at: new Date(Date.now() - 60_000),
      },
      {
        orgId: orgA.id,
        resourceId: vpc.id,
        action: "updated",
        before: { name: "old", cidr: "10.0.0.0/16", ips: [] },
        after: { name: "vpc 1", cidr: "10.0.0.0/16", ips: ["10.0.0.1"] },
        // Distinct instants: one createMany stamps every row with the same now().
        at: new Date(Date.now() - 30_000),
      },
      { orgId: orgA.id, resourceId: gone.id, action: "deleted", before: { name: "host 4" } },
    ],
  });
  // Org B has an account of the same name: names are per org.
  await db.cloudAccount.create({
    data: { orgId: orgB.id, kind: "manual", name: "prod", encryptedCredentials: sealed },
  });
  Object.assign(ids, {
    viewerA: viewerA.id,
    ownerB: ownerB.id,
    slugA: orgA.slug,
    slugB: orgB.slug,
    awsA: aws.id,
    k8sA: k8s.id,
  });
});
afterAll(async () => {
  await t?.drop();
});

describe("clouds router", () => {
  it("lists an org's accounts with status, readable last error and live resources by kind", async () => {
    const { accounts } = await (await as(ids.viewerA)).clouds.list({ orgSlug: ids.slugA });
    expect(accounts.map((a) => [a.name, a.kind, a.status])).toEqual([
      ["cluster", "kubernetes", "failing"],
      ["prod", "aws", "ok"],
    ]);
    expect(accounts[0]?.lastError).toBe("kubernetes: GET /api/v1/nodes: 401 Unauthorized");
    expect(accounts[1]?.resources).toEqual({ vpc: 1, subnet: 2 });
    expect(accounts[1]?.deletedResources).toBe(1);
    expect(accounts[0]?.resources).toEqual({});
  });

  it("never returns credentials, sealed or not", async () => {
    const api = await as(ids.viewerA);
    const out = JSON.stringify([
      await api.clouds.list({ orgSlug: ids.slugA }),
      await api.clouds.history({ orgSlug: ids.slugA }),
    ]);
    expect(out).not.toContain(SECRET);
    expect(out).not.toContain(Buffer.from(SECRET).toString("base64"));
    expect(out).not.toMatch(/credential/i);
  });

  it("shows the history newest first, with what changed and the previous name", async () => {
    const { changes } = await (await as(ids.viewerA)).clouds.history({ orgSlug: ids.slugA });
    expect(changes.map((c) => [c.action, c.resource.externalId])).toEqual([
      ["deleted", "host-4"],
      ["updated", "vpc-1"],
      ["created", "vpc-1"],
    ]);
    expect(changes[1]).toMatchObject({ changed: ["ips", "name"], previousName: "old", accountId: ids.awsA });
    const one = await (await as(ids.viewerA)).clouds.history({ orgSlug: ids.slugA, accountId: ids.k8sA });
    expect(one.changes).toEqual([]);
  });

  it("org B sees none of org A's accounts, resources or history", async () => {
    const api = await as(ids.ownerB);
    const { accounts } = await api.clouds.list({ orgSlug: ids.slugB });
    expect(accounts.map((a) => [a.name, a.kind, a.status, a.resources])).toEqual([
      ["prod", "manual", "never", {}],
    ]);
    expect((await api.clouds.history({ orgSlug: ids.slugB })).changes).toEqual([]);
    // Naming org A's account from org B finds nothing either.
    expect((await api.clouds.history({ orgSlug: ids.slugB, accountId: ids.awsA })).changes).toEqual([]);
    await expect(api.clouds.list({ orgSlug: ids.slugA })).rejects.toMatchObject({ code: "NOT_FOUND" });
  });
});

describe("adding and removing accounts (cloud.write)", () => {
  const AWS_SECRET = "wJalrXUtnFEMI-console-added-never-shown";
  const aws = {
    kind: "aws" as const,
    name: "staging",
    credentials: { accessKeyId: "AKIACONSOLE", secretAccessKey: AWS_SECRET },
  };
  let adminA: string;
  let viewerA: string;
  let ownerB: string;
  let slugA: string;
  let slugB: string;
  let orgAId: string;
  const savedKey = process.env.FLOWPLANE_SECRETS_KEY;
  beforeAll(async () => {
    process.env.FLOWPLANE_SECRETS_KEY = randomBytes(32).toString("base64");
    const [orgA, orgB] = [await seedOrg(t.db), await seedOrg(t.db)];
    const [a, v, b] = [await seedUser(t.db), await seedUser(t.db), await seedUser(t.db)];
    await seedMembership(t.db, { orgId: orgA.id, userId: a.id, role: "admin" });
    await seedMembership(t.db, { orgId: orgA.id, userId: v.id, role: "viewer" });
    await seedMembership(t.db, { orgId: orgB.id, userId: b.id, role: "owner" });
    [adminA, viewerA, ownerB, slugA, slugB, orgAId] = [a.id, v.id, b.id, orgA.slug, orgB.slug, orgA.id];
  });
  afterAll(() => {
    if (savedKey === undefined) delete process.env.FLOWPLANE_SECRETS_KEY;
    else process.env.FLOWPLANE_SECRETS_KEY = savedKey;
  });

  it("seals the credentials: the stored bytes do not hold the secret, no answer or audit row shows it", async () => {
    const api = await as(adminA);
    const view = await api.clouds.create({ orgSlug: slugA, account: aws });
    expect(Object.keys(view).sort()).toEqual(["createdAt", "id", "kind", "lastError", "lastSyncAt", "name"]);
    const stored = await t.db.unsafe.cloudAccount.findUniqueOrThrow({ where: { id: view.id } });
    const bytes = Buffer.from(stored.encryptedCredentials);
    expect(bytes.length).toBeGreaterThan(29);
    expect(bytes.toString("latin1")).not.toContain(AWS_SECRET);
    expect(bytes.toString("latin1")).not.toContain("AKIACONSOLE");
    const key = SecretsKey.fromBase64(process.env.FLOWPLANE_SECRETS_KEY ?? "");
    expect(openSecret(key, orgAId, stored.encryptedCredentials)).toMatchObject(aws.credentials);
    const audit = await t.db.unsafe.auditLog.findMany({ where: { orgId: orgAId, action: "clouds.create" } });
    const seen = JSON.stringify([view, await api.clouds.list({ orgSlug: slugA }), audit]);
    expect(seen).not.toContain(AWS_SECRET);
    expect(seen).not.toContain("AKIACONSOLE");
    expect(audit).toHaveLength(1);
    // The same name twice is a clear conflict; a manual import is parsed before it is kept.
    await expect(api.clouds.create({ orgSlug: slugA, account: aws })).rejects.toMatchObject({
      code: "CONFLICT",
    });
    await expect(
      api.clouds.create({
        orgSlug: slugA,
        account: { kind: "manual", name: "dc", credentials: { format: "csv", text: "kind,name\nvpc,x" } },
      }),
    ).rejects.toMatchObject({ code: "BAD_REQUEST", message: expect.stringContaining("external_id") });
  });

  it("asks for FLOWPLANE_SECRETS_KEY only when there are credentials to seal", async () => {
    const api = await as(adminA);
    const key = process.env.FLOWPLANE_SECRETS_KEY;
    delete process.env.FLOWPLANE_SECRETS_KEY;
    try {
      await expect(
        api.clouds.create({ orgSlug: slugA, account: { ...aws, name: "no key" } }),
      ).rejects.toMatchObject({
        code: "PRECONDITION_FAILED",
        message: expect.stringContaining("FLOWPLANE_SECRETS_KEY"),
      });
      const hosts = await api.clouds.create({ orgSlug: slugA, account: { kind: "agents", name: "hosts" } });
      expect(hosts.kind).toBe("agents");
    } finally {
      process.env.FLOWPLANE_SECRETS_KEY = key;
    }
  });

  it("refuses a viewer, and org B cannot remove org A's account", async () => {
    const [account] = (await (await as(adminA)).clouds.list({ orgSlug: slugA })).accounts.filter(
      (a) => a.name === "staging",
    );
    if (!account) throw new Error("fixture");
    await expect(
      (await as(viewerA)).clouds.create({ orgSlug: slugA, account: { kind: "agents", name: "v" } }),
    ).rejects.toMatchObject({ code: "FORBIDDEN" });
    await expect(
      (await as(viewerA)).clouds.remove({ orgSlug: slugA, accountId: account.id }),
    ).rejects.toMatchObject({ code: "FORBIDDEN" });
    await expect(
      (await as(ownerB)).clouds.remove({ orgSlug: slugB, accountId: account.id }),
    ).rejects.toMatchObject({
      code: "NOT_FOUND",
    });
    expect(
      (await t.db.unsafe.cloudAccount.findUniqueOrThrow({ where: { id: account.id } })).deletedAt,
    ).toBeNull();
  });

  it("removes an account: resources marked deleted with history, version bumped, name free again", async () => {
    const api = await as(adminA);
    const [account] = (await api.clouds.list({ orgSlug: slugA })).accounts.filter(
      (a) => a.name === "staging",
    );
    if (!account) throw new Error("fixture");
    await t.db.unsafe.cloudResource.create({
      data: {
        orgId: orgAId,
        accountId: account.id,
        kind: "vpc",
        externalId: "vpc-9",
        name: "vpc 9",
        tagId: 9,
      },
    });
    const before = await t.db.unsafe.cloudInventory.findUnique({ where: { orgId: orgAId } });
    expect(await api.clouds.remove({ orgSlug: slugA, accountId: account.id })).toEqual({
      id: account.id,
      deletedResources: 1,
    });
    const names = (await api.clouds.list({ orgSlug: slugA })).accounts.map((a) => a.name);
    expect(names).not.toContain("staging");
    const res = await t.db.unsafe.cloudResource.findFirstOrThrow({ where: { accountId: account.id } });
    expect(res.deletedAt).not.toBeNull();
    const { changes } = await api.clouds.history({ orgSlug: slugA, accountId: account.id });
    expect(changes.map((c) => [c.action, c.resource.externalId])).toEqual([["deleted", "vpc-9"]]);
    const after = await t.db.unsafe.cloudInventory.findUniqueOrThrow({ where: { orgId: orgAId } });
    expect(after.version).toBeGreaterThan(before?.version ?? 0);
    await expect(api.clouds.remove({ orgSlug: slugA, accountId: account.id })).rejects.toMatchObject({
      code: "NOT_FOUND",
    });
    expect((await api.clouds.create({ orgSlug: slugA, account: aws })).name).toBe("staging");
    const audit = await t.db.unsafe.auditLog.findMany({ where: { orgId: orgAId, action: "clouds.remove" } });
    expect(audit).toHaveLength(1);
  });
});
