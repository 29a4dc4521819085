import { randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import {
  createCloudAccount,
  listCloudAccounts,
  replaceManualDocument,
  resourceHistory,
  SecretsKey,
} from "@flowplane/db/clouds";
import { seedAgent, seedOrg } from "@flowplane/db/seed";
import { createTestDatabase, type TestDatabase } from "@flowplane/db/testing";
import { Redis } from "ioredis";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCloudJobs } from "../../src/clouds/jobs.ts";
import { syncCloudAccount } from "../../src/clouds/sync.ts";
import { ResourceTagger, versionKey } from "../../src/tagging/tagger.ts";
import { startFakeEc2, type TFakeEc2, twoVpcRegion } from "./fake-ec2.ts";
import { sampleCluster, startFakeKube, type TFakeKube } from "./fake-kube.ts";

const SECRET = "wJalrXUtnFEMI-never-shown-anywhere";
const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

describe("cloud sync: sources → resource model with history", () => {
  let tdb: TestDatabase;
  let redis: Redis;
  let ec2: TFakeEc2;
  let kube: TFakeKube;
  const logLines: string[] = [];
  const log = pino(
    { level: "debug" },
    new Writable({
      write(chunk, _enc, cb) {
        logLines.push(String(chunk));
        cb();
      },
    }),
  );
  const key = SecretsKey.fromBase64(randomBytes(32).toString("base64"));

  beforeAll(async () => {
    tdb = await createTestDatabase("ctl_cloud_sync");
    redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
    ec2 = await startFakeEc2({ "eu-west-1": twoVpcRegion() });
    kube = await startFakeKube(sampleCluster());
  });
  afterAll(async () => {
    await ec2?.close();
    await kube?.close();
    await redis?.quit();
    await tdb?.drop();
  });

  const awsCreds = () => ({
    accessKeyId: "AKIDEXAMPLE",
    secretAccessKey: SECRET,
    endpoint: ec2.url,
    homeRegion: "eu-west-1",
  });

  it("syncs AWS, reconciles renames and deletions with before/after history, and never shows the secret", async () => {
    const org = await seedOrg(tdb.db);
    const account = await createCloudAccount(tdb.db, key, org.id, {
      kind: "aws",
      name: "prod-aws",
      credentials: awsCreds(),
    });
    expect(JSON.stringify(account)).not.toContain(SECRET);
    expect(Object.keys(account)).not.toContain("encryptedCredentials");
    const stored = await tdb.db.forOrg(org.id).cloudAccount.findUniqueOrThrow({ where: { id: account.id } });
    expect(Buffer.from(stored.encryptedCredentials).toString("latin1")).not.toContain(SECRET);

    const deps = { db: tdb.db, key, redis, log };
    const first = await syncCloudAccount(deps, org.id, account.id);
    expect(first).toMatchObject({ created: 1 + 2 + 2 + 3 + 4 + 5, updated: 0, deleted: 0, version: 1 });
    const resources = await tdb.db.forOrg(org.id).cloudResource.findMany({ orderBy: { tagId: "asc" } });
    expect(resources.map((r) => r.tagId)).toEqual(resources.map((_, i) => i + 1)); // small, dense per org
    expect(await redis.get(versionKey(org.id))).toBe("1");

    // unchanged: no new version, no history
    expect(await syncCloudAccount(deps, org.id, account.id)).toMatchObject({
      created: 0,
      updated: 0,
      deleted: 0,
      version: 1,
    });

    const region = ec2.regions["eu-west-1"];
    if (!region) throw new Error("fake region missing");
    const webA = region.instances.find((i) => i.id === "i-a1");
    if (webA) webA.name = "prod-web-renamed";
    region.enis = region.enis.filter((e) => e.id !== "eni-lb");
    const second = await syncCloudAccount(deps, org.id, account.id);
    expect(second).toMatchObject({ created: 0, updated: 1, deleted: 1, version: 2 });
    const host = resources.find((r) => r.externalId === "i-a1");
    const renamed = await tdb.db
      .forOrg(org.id)
      .cloudResource.findUniqueOrThrow({ where: { id: host?.id ?? "" } });
    expect(renamed).toMatchObject({ name: "prod-web-renamed", tagId: host?.tagId });
    const history = await resourceHistory(tdb.db, org.id, { resourceId: host?.id ?? "" });
    expect(history.map((h) => h.action)).toEqual(["updated", "created"]);
    expect(history[0]).toMatchObject({ before: { name: "prod-web" }, after: { name: "prod-web-renamed" } });
    const gone = await tdb.db
      .forOrg(org.id)
      .cloudResource.findFirstOrThrow({ where: { externalId: "eni-lb" } });
    expect(gone.deletedAt).not.toBeNull();
    const goneHistory = await resourceHistory(tdb.db, org.id, { resourceId: gone.id });
    expect(goneHistory[0]).toMatchObject({ action: "deleted", after: null });

    // it comes back with the same tag id
    region.enis.push({
      id: "eni-lb",
      vpc: "vpc-a",
      subnet: "subnet-a2",
      az: "eu-west-1b",
      ips: ["10.0.2.50"],
    });
    await syncCloudAccount(deps, org.id, account.id);
    const back = await tdb.db.forOrg(org.id).cloudResource.findUniqueOrThrow({ where: { id: gone.id } });
    expect(back).toMatchObject({ deletedAt: null, tagId: gone.tagId });

    // an error becomes the account's last error; the next good sync clears it
    ec2.fail = {
      code: "AuthFailure",
      message: "AWS was not able to validate the provided access credentials",
      status: 401,
    };
    await expect(syncCloudAccount(deps, org.id, account.id)).rejects.toThrow();
    ec2.fail = null;
    const [view] = await listCloudAccounts(tdb.db, org.id);
    expect(view?.lastError).toMatch(/validate the provided access credentials/);
    expect(JSON.stringify(await listCloudAccounts(tdb.db, org.id))).not.toContain(SECRET);
    await syncCloudAccount(deps, org.id, account.id);
    expect((await listCloudAccounts(tdb.db, org.id))[0]?.lastError).toBeNull();

    // nothing logged carries the secret (or the key)
    expect(logLines.length).toBeGreaterThan(0);
    expect(logLines.join("")).not.toContain(SECRET);
    expect(logLines.join("")).not.toContain(key.bytes.toString("base64"));
  });

  it("syncs Kubernetes, agent-reported hosts and a manual CSV import into the same model", async () => {
    const org = await seedOrg(tdb.db);
    const agent = await seedAgent(tdb.db, org.id);
    await tdb.db.unsafe.agent.update({
      where: { id: agent.id },
      data: { hostname: "edge-1", ips: ["192.168.50.5", "fd00::5"] },
    });
    const deps = { db: tdb.db, key, redis, log };
    const k8s = await createCloudAccount(tdb.db, key, org.id, {
      kind: "kubernetes",
      name: "prod-eks",
      credentials: { server: kube.url, token: kube.token, skipTLSVerify: true, pageSize: 2 },
    });
    const agents = await createCloudAccount(tdb.db, key, org.id, { kind: "agents", name: "agents" });
    const manual = await createCloudAccount(tdb.db, key, org.id, {
      kind: "manual",
      name: "datacenter",
      credentials: {
        format: "csv",
        text: "kind,external_id,name,cidr,ips,vpc\nvpc,dc1,dc1,192.168.0.0/16,,\nsubnet,dc1-lan,dc1-lan,192.168.50.0/24,,dc1\nappliance,fw1,firewall-1,,192.168.50.1,dc1\n",
      },
    });
    await syncCloudAccount(deps, org.id, k8s.id);
    await syncCloudAccount(deps, org.id, agents.id);
    await syncCloudAccount(deps, org.id, manual.id);
    const all = await tdb.db.forOrg(org.id).cloudResource.findMany();
    const pod = all.find((r) => r.kind === "pod" && r.externalId === "shop/web-7d9f-abc");
    expect(pod).toMatchObject({
      ips: ["10.244.1.5"],
      labels: { app: "web", tier: "front" },
      refs: { workload: "shop/Deployment/web" },
    });
    expect(all.find((r) => r.kind === "host" && r.accountId === agents.id)).toMatchObject({
      name: "edge-1",
      ips: ["192.168.50.5", "fd00::5"],
    });
    expect(all.find((r) => r.externalId === "fw1")).toMatchObject({
      kind: "appliance",
      ips: ["192.168.50.1"],
    });
    expect(new Set(all.map((r) => r.tagId)).size).toBe(all.length); // one id space per org across sources

    const tagger = new ResourceTagger({ db: tdb.db, redis, checkEveryMs: 0 });
    const dict = await tagger.dictionaryFor(org.id);
    const fw = all.find((r) => r.externalId === "fw1");
    expect(dict.resolve("192.168.50.1").resourceId).toBe(fw?.tagId);
    expect(dict.resolve("10.244.2.6").pod).toBe(all.find((r) => r.externalId === "shop/web-7d9f-def")?.tagId);

    // a manual import that changes a name moves the version; the tagger reloads once
    const loads = tagger.loads;
    await replaceManualDocument(tdb.db, key, org.id, manual.id, {
      format: "json",
      text: JSON.stringify({
        resources: [
          { kind: "vpc", externalId: "dc1", name: "dc1", cidr: "192.168.0.0/16" },
          {
            kind: "appliance",
            externalId: "fw1",
            name: "firewall-core",
            ips: ["192.168.50.1"],
            refs: { vpc: "dc1" },
          },
        ],
      }),
    });
    const r = await syncCloudAccount(deps, org.id, manual.id);
    expect(r).toMatchObject({ updated: 1, deleted: 1 });
    await tagger.dictionaryFor(org.id);
    await tagger.dictionaryFor(org.id);
    expect(tagger.loads).toBe(loads + 1);
  });

  it("runs a source as a BullMQ job with retries; a failing source's error is stored and shown", async () => {
    const org = await seedOrg(tdb.db);
    const account = await createCloudAccount(tdb.db, key, org.id, {
      kind: "kubernetes",
      name: "bad-token",
      credentials: { server: kube.url, token: "wrong-token", skipTLSVerify: true },
    });
    const prefix = `fp:test:cloud:${randomBytes(4).toString("hex")}`;
    const jobs = await startCloudJobs({
      db: tdb.db,
      key,
      redis,
      connection: redis,
      log,
      prefix,
      attempts: 2,
      backoffMs: 50,
    });
    try {
      await jobs.schedule(org.id, account.id, 60_000);
      const schedulers = await jobs.queue.getJobSchedulers();
      expect(schedulers.map((s) => s.key)).toContain(`cloud-sync:${org.id}:${account.id}`);
      const failed = new Promise<number>((resolve) =>
        jobs.worker.on("failed", (job) => {
          if (job && job.attemptsMade >= 2) resolve(job.attemptsMade);
        }),
      );
      await jobs.syncNow(org.id, account.id);
      expect(await failed).toBe(2);
      const [view] = await listCloudAccounts(tdb.db, org.id);
      expect(view?.lastError).toMatch(/401|Unauthorized/);
      await jobs.unschedule(org.id, account.id);
    } finally {
      await jobs.close();
      await jobs.queue.obliterate({ force: true }).catch(() => {});
    }
  });
});
