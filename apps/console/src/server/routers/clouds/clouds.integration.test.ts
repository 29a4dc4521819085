import { seedMembership, seedOrg, seedUser } from "@flowplane/db/seed";
import { createTestDatabase, type TestDatabase } from "@flowplane/db/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createContext } from "../../trpc/context.ts";
import { createCaller } from "../_app.ts";

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
const as = async (userId: string) =>
  createCaller(await createContext({ db: t.db, claims: { userId, sessionVersion: 0 } }));

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
