import { randomBytes, randomUUID } from "node:crypto";
import { CLOUD_SYNC_QUEUE, openSecret, SecretsKey } from "@flowplane/db/clouds";
import { seedMembership, seedOrg, seedUser } from "@flowplane/db/seed";
import { createTestDatabase, type TestDatabase } from "@flowplane/db/testing";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callerAs, codeOf } from "../test-callers.ts";
import { setCloudSyncQueueForTests } from "./sync-queue.ts";

// Editing accounts and "sync now" through the real router, a real Postgres and a real Redis (a
// BullMQ prefix of this run), as members of two orgs. Secrets are markers, so any leak into an
// answer or an audit row shows in its JSON.
let t: TestDatabase;
let key: SecretsKey;
let redis: Redis;
let inspect: Queue;
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const PREFIX = `fp:test:console-clouds:${randomUUID().slice(0, 8)}`;
const savedKey = process.env.FLOWPLANE_SECRETS_KEY;
const SECRET = "wJalr-EDIT-MARKER-old-secret";
const NEW_SECRET = "wJalr-EDIT-MARKER-new-secret";
const KEY_ID = "AKIAEDITMARKER";
const TOKEN = "k8s-token-EDIT-MARKER";
const ids = {} as {
  adminA: string;
  viewerA: string;
  ownerB: string;
  slugA: string;
  slugB: string;
  orgA: string;
};
const as = (userId: string) => callerAs(t.db, userId);

const sealedOf = async (id: string) =>
  (await t.db.unsafe.cloudAccount.findUniqueOrThrow({ where: { id } })).encryptedCredentials;
const opened = async (id: string) => openSecret(key, ids.orgA, await sealedOf(id)) as Record<string, unknown>;
const audits = (action: string) => t.db.unsafe.auditLog.findMany({ where: { orgId: ids.orgA, action } });
const noSecretIn = (value: unknown) => {
  const json = JSON.stringify(value);
  for (const s of [SECRET, NEW_SECRET, KEY_ID, TOKEN]) expect(json).not.toContain(s);
};
/** The zod field problems of a BAD_REQUEST as "field: message" (as the form shows them). */
async function problemOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return "OK";
  } catch (err) {
    const e = err as {
      code?: string;
      message: string;
      cause?: { issues?: { path: unknown[]; message: string }[] };
    };
    const issue = e.cause?.issues?.[0];
    return `${e.code}: ${issue ? `${issue.path.join(".")}: ${issue.message}` : e.message}`;
  }
}

beforeAll(async () => {
  t = await createTestDatabase("console_clouds_edit");
  process.env.FLOWPLANE_SECRETS_KEY = randomBytes(32).toString("base64");
  key = SecretsKey.fromBase64(process.env.FLOWPLANE_SECRETS_KEY);
  await setCloudSyncQueueForTests({ redisUrl: REDIS_URL, prefix: PREFIX });
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  inspect = new Queue(CLOUD_SYNC_QUEUE, { connection: redis, prefix: PREFIX });
  const [orgA, orgB] = [await seedOrg(t.db), await seedOrg(t.db)];
  const [a, v, b] = [await seedUser(t.db), await seedUser(t.db), await seedUser(t.db)];
  await seedMembership(t.db, { orgId: orgA.id, userId: a.id, role: "admin" });
  await seedMembership(t.db, { orgId: orgA.id, userId: v.id, role: "viewer" });
  await seedMembership(t.db, { orgId: orgB.id, userId: b.id, role: "owner" });
  Object.assign(ids, {
    adminA: a.id,
    viewerA: v.id,
    ownerB: b.id,
    slugA: orgA.slug,
    slugB: orgB.slug,
    orgA: orgA.id,
  });
});
afterAll(async () => {
  await inspect?.obliterate({ force: true }).catch(() => {});
  await inspect?.close();
  await redis?.quit();
  await setCloudSyncQueueForTests(undefined);
  if (savedKey === undefined) delete process.env.FLOWPLANE_SECRETS_KEY;
  else process.env.FLOWPLANE_SECRETS_KEY = savedKey;
  await t?.drop();
});

async function addAws(name: string) {
  return (await as(ids.adminA)).clouds.create({
    orgSlug: ids.slugA,
    account: {
      kind: "aws",
      name,
      credentials: { accessKeyId: KEY_ID, secretAccessKey: SECRET, homeRegion: "eu-west-1" },
    },
  });
}

describe("editing an AWS account", () => {
  it("shows settings and which secrets are stored, never a secret", async () => {
    const acct = await addAws("aws-detail");
    const d = await (await as(ids.adminA)).clouds.detail({ orgSlug: ids.slugA, accountId: acct.id });
    expect(d.settings).toEqual({
      kind: "aws",
      homeRegion: "eu-west-1",
      regions: null,
      endpoint: null,
      tunnelIds: {},
    });
    expect(d.stored).toEqual(["accessKeyId", "secretAccessKey"]);
    noSecretIn(d);
  });

  it("renames and changes settings with the secret fields empty: the stored secrets are kept", async () => {
    const acct = await addAws("aws-rename");
    const api = await as(ids.adminA);
    const d = await api.clouds.update({
      orgSlug: ids.slugA,
      accountId: acct.id,
      kind: "aws",
      name: "aws-renamed",
      accessKeyId: "",
      secretAccessKey: "",
      homeRegion: "us-west-2",
      regions: ["us-west-2", "eu-central-1"],
      endpoint: "http://127.0.0.1:9/aws",
    });
    expect(d.name).toBe("aws-renamed");
    expect(d.settings).toMatchObject({
      regions: ["us-west-2", "eu-central-1"],
      endpoint: "http://127.0.0.1:9/aws",
    });
    expect(await opened(acct.id)).toMatchObject({
      accessKeyId: KEY_ID,
      secretAccessKey: SECRET,
      homeRegion: "us-west-2",
      regions: ["us-west-2", "eu-central-1"],
    });
    const names = (await api.clouds.list({ orgSlug: ids.slugA })).accounts.map((a) => a.name);
    expect(names).toContain("aws-renamed");
    expect(names).not.toContain("aws-rename");
    const [row] = (await audits("clouds.update")).filter((r) => r.targetId === acct.id);
    expect(row?.before).toMatchObject({ name: "aws-rename", settings: { homeRegion: "eu-west-1" } });
    expect(row?.after).toMatchObject({ name: "aws-renamed", credentialsReplaced: [] });
    noSecretIn([d, row]);
    // null takes an optional setting away again.
    await api.clouds.update({
      orgSlug: ids.slugA,
      accountId: acct.id,
      kind: "aws",
      regions: null,
      endpoint: null,
    });
    const o = await opened(acct.id);
    expect(o.regions).toBeUndefined();
    expect(o.endpoint).toBeUndefined();
  });

  it("replaces the secret alone: re-sealed with the key, the key id kept, only its name audited", async () => {
    const acct = await addAws("aws-rotate");
    const before = Buffer.from(await sealedOf(acct.id));
    const d = await (await as(ids.adminA)).clouds.update({
      orgSlug: ids.slugA,
      accountId: acct.id,
      kind: "aws",
      secretAccessKey: NEW_SECRET,
    });
    const after = Buffer.from(await sealedOf(acct.id));
    expect(after.equals(before)).toBe(false);
    expect(after.toString("latin1")).not.toContain(NEW_SECRET);
    expect(await opened(acct.id)).toMatchObject({ accessKeyId: KEY_ID, secretAccessKey: NEW_SECRET });
    const [row] = (await audits("clouds.update")).filter((r) => r.targetId === acct.id);
    expect(row?.after).toMatchObject({ credentialsReplaced: ["secretAccessKey"] });
    noSecretIn([d, row]);
  });

  it("validates with a message naming the field", async () => {
    const acct = await addAws("aws-invalid");
    const api = await as(ids.adminA);
    const base = { orgSlug: ids.slugA, accountId: acct.id, kind: "aws" as const };
    expect(await problemOf(api.clouds.update({ ...base, endpoint: "not a url" }))).toMatch(
      "BAD_REQUEST: endpoint: expected an http(s):// URL",
    );
    expect(await problemOf(api.clouds.update({ ...base, regions: ["Not A Region"] }))).toMatch(
      "BAD_REQUEST: regions.0: expected region names like eu-west-1",
    );
    expect(await problemOf(api.clouds.update({ ...base, name: "  " }))).toMatch(
      "BAD_REQUEST: name: required",
    );
    expect(
      await problemOf(api.clouds.update({ ...base, kind: "kubernetes", server: "https://k:6443" })),
    ).toBe("BAD_REQUEST: kind: this account is of kind aws");
    await addAws("aws-taken");
    expect(await problemOf(api.clouds.update({ ...base, name: "aws-taken" }))).toMatch(/^CONFLICT: name: /);
    expect((await opened(acct.id)).secretAccessKey).toBe(SECRET);
  });

  it("renames without FLOWPLANE_SECRETS_KEY, but asks for it to change credentials or settings", async () => {
    const acct = await addAws("aws-nokey");
    const api = await as(ids.adminA);
    const k = process.env.FLOWPLANE_SECRETS_KEY;
    delete process.env.FLOWPLANE_SECRETS_KEY;
    try {
      const base = { orgSlug: ids.slugA, accountId: acct.id, kind: "aws" as const };
      expect((await api.clouds.update({ ...base, name: "aws-nokey-2", secretAccessKey: "" })).name).toBe(
        "aws-nokey-2",
      );
      expect(await codeOf(api.clouds.update({ ...base, homeRegion: "us-east-2" }))).toBe(
        "PRECONDITION_FAILED",
      );
    } finally {
      process.env.FLOWPLANE_SECRETS_KEY = k;
    }
  });
});

describe("editing Kubernetes, manual and agent-host accounts", () => {
  it("kubernetes: new server and CA, token kept; a result with neither server nor kubeconfig is refused", async () => {
    const api = await as(ids.adminA);
    const acct = await api.clouds.create({
      orgSlug: ids.slugA,
      account: {
        kind: "kubernetes",
        name: "k8s-edit",
        credentials: { server: "https://old:6443", token: TOKEN },
      },
    });
    const base = { orgSlug: ids.slugA, accountId: acct.id, kind: "kubernetes" as const };
    const d = await api.clouds.update({ ...base, server: "https://new:6443", caData: "LS0tCA==", token: "" });
    expect(d.settings).toMatchObject({
      server: "https://new:6443",
      caData: "LS0tCA==",
      skipTLSVerify: false,
    });
    expect(d.stored).toEqual(["token"]);
    expect(await opened(acct.id)).toMatchObject({ server: "https://new:6443", token: TOKEN });
    expect(await problemOf(api.clouds.update({ ...base, server: null }))).toBe(
      "BAD_REQUEST: server: give the API server URL, or a kubeconfig",
    );
    expect(await problemOf(api.clouds.update({ ...base, pageSize: 0 }))).toMatch(/^BAD_REQUEST: pageSize: /);
    noSecretIn(d);
  });

  it("manual: a new document replaces the old one after it parses; empty keeps it", async () => {
    const api = await as(ids.adminA);
    const acct = await api.clouds.create({
      orgSlug: ids.slugA,
      account: {
        kind: "manual",
        name: "dc-edit",
        credentials: { format: "csv", text: "kind,external_id,name\nsubnet,lan,LAN" },
      },
    });
    const base = { orgSlug: ids.slugA, accountId: acct.id, kind: "manual" as const };
    expect((await api.clouds.detail(base)).settings).toEqual({ kind: "manual", format: "csv", resources: 1 });
    expect(await problemOf(api.clouds.update({ ...base, text: "kind,name\nvpc,x" }))).toMatch(
      /^BAD_REQUEST: text: manual import: .*external_id/,
    );
    expect(await problemOf(api.clouds.update({ ...base, format: "json", text: "" }))).toMatch(
      /^BAD_REQUEST: text: paste the document again as json/,
    );
    const doc = { resources: [1, 2].map((n) => ({ kind: "subnet", externalId: `s${n}`, name: `S${n}` })) };
    const d = await api.clouds.update({ ...base, format: "json", text: JSON.stringify(doc) });
    expect(d.settings).toEqual({ kind: "manual", format: "json", resources: 2 });
    expect((await api.clouds.update({ ...base, name: "dc-renamed", text: "" })).settings).toEqual(d.settings);
  });

  it("agent hosts: rename only", async () => {
    const api = await as(ids.adminA);
    const acct = await api.clouds.create({
      orgSlug: ids.slugA,
      account: { kind: "agents", name: "hosts-edit" },
    });
    const d = await api.clouds.update({
      orgSlug: ids.slugA,
      accountId: acct.id,
      kind: "agents",
      name: "hosts-2",
    });
    expect([d.name, d.settings, d.stored]).toEqual(["hosts-2", { kind: "agents" }, []]);
  });
});

describe("sync now", () => {
  it("queues the controller's job for this account at once; a second press joins it; audited", async () => {
    const acct = await addAws("aws-sync");
    const api = await as(ids.adminA);
    const first = await api.clouds.syncNow({ orgSlug: ids.slugA, accountId: acct.id });
    const job = await inspect.getJob(first.jobId);
    expect(job?.name).toBe("sync-now");
    expect(job?.data).toEqual({ orgId: ids.orgA, accountId: acct.id });
    expect(job?.opts.attempts).toBe(3);
    const again = await api.clouds.syncNow({ orgSlug: ids.slugA, accountId: acct.id });
    expect(again.jobId).toBe(first.jobId);
    expect((await audits("clouds.syncNow")).filter((r) => r.targetId === acct.id)).toHaveLength(2);
  });
});

describe("another org and other roles", () => {
  it("org B can neither read, edit nor sync org A's account by id; a viewer of A is refused", async () => {
    const acct = await addAws("aws-isolated");
    const sealed = Buffer.from(await sealedOf(acct.id));
    const jobsBefore = await inspect.getJobCountByTypes(
      "waiting",
      "active",
      "delayed",
      "completed",
      "failed",
    );
    const b = await as(ids.ownerB);
    const inB = { orgSlug: ids.slugB, accountId: acct.id };
    expect(await codeOf(b.clouds.detail(inB))).toBe("NOT_FOUND");
    expect(await codeOf(b.clouds.update({ ...inB, kind: "aws", name: "stolen", secretAccessKey: "x" }))).toBe(
      "NOT_FOUND",
    );
    expect(await codeOf(b.clouds.syncNow(inB))).toBe("NOT_FOUND");
    // Naming org A's slug from org B is not found either.
    expect(await codeOf(b.clouds.syncNow({ ...inB, orgSlug: ids.slugA }))).toBe("NOT_FOUND");
    const v = await as(ids.viewerA);
    const inA = { orgSlug: ids.slugA, accountId: acct.id };
    expect(await codeOf(v.clouds.detail(inA))).toBe("FORBIDDEN");
    expect(await codeOf(v.clouds.update({ ...inA, kind: "aws", name: "viewer" }))).toBe("FORBIDDEN");
    expect(await codeOf(v.clouds.syncNow(inA))).toBe("FORBIDDEN");
    const row = await t.db.unsafe.cloudAccount.findUniqueOrThrow({ where: { id: acct.id } });
    expect(row.name).toBe("aws-isolated");
    expect(Buffer.from(row.encryptedCredentials).equals(sealed)).toBe(true);
    expect(await inspect.getJobCountByTypes("waiting", "active", "delayed", "completed", "failed")).toBe(
      jobsBefore,
    );
  });

  it("a removed account can be neither edited nor synced", async () => {
    const acct = await addAws("aws-removed");
    const api = await as(ids.adminA);
    await api.clouds.remove({ orgSlug: ids.slugA, accountId: acct.id });
    const inA = { orgSlug: ids.slugA, accountId: acct.id };
    expect(await codeOf(api.clouds.update({ ...inA, kind: "aws", name: "back" }))).toBe("NOT_FOUND");
    expect(await codeOf(api.clouds.syncNow(inA))).toBe("NOT_FOUND");
  });
});
