import { randomBytes } from "node:crypto";
import { createLogger } from "@flowplane/core/log";
import {
  seedAgent,
  seedAgentGroup,
  seedEnrollmentToken,
  seedMembership,
  seedOrg,
  seedUser,
} from "@flowplane/db/seed";
import { createTestDatabase, type TestDatabase } from "@flowplane/db/testing";
import { orgTables } from "@flowplane/query/ddl";
import { createTestClickhouse, type TestClickhouse } from "@flowplane/query/testing";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOrgPurgeJobs } from "../src/jobs/org-purge-jobs.ts";
import type { TPurgeResult } from "../src/jobs/purge-organizations.ts";
import { unsafePurgeDeletedOrganizations } from "../src/jobs/purge-organizations.ts";
import {
  bearer,
  enroll,
  enrollBody,
  redisUrl,
  seedTenant as seedHarnessTenant,
  startHarness,
  syncBody,
} from "./harness.ts";

// Deleting an organization for good, against real Postgres, ClickHouse and Redis: two orgs with
// rows in every tenant table of both stores, one purged, the other's rows counted before and after.
let tdb: TestDatabase;
let ch: TestClickhouse;
let redis: Redis;
const log = createLogger("org-purge-test");
const DAY = 86_400_000;

beforeAll(async () => {
  [tdb, ch] = await Promise.all([createTestDatabase("ctl_purge"), createTestClickhouse("ctl_purge")]);
  redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
});
afterAll(async () => {
  await redis?.quit();
  await Promise.allSettled([tdb?.drop(), ch?.drop()]);
});

/** An org with a member, a group, two agents, an enrolment token and an audit entry in Postgres. */
async function seedTenant(): Promise<string> {
  const org = await seedOrg(tdb.db);
  const user = await seedUser(tdb.db);
  await seedMembership(tdb.db, { orgId: org.id, userId: user.id, role: "owner" });
  const group = await seedAgentGroup(tdb.db, org.id);
  await seedAgent(tdb.db, org.id, group.id);
  await seedAgent(tdb.db, org.id, group.id);
  await seedEnrollmentToken(tdb.db, org.id, group.id);
  for (const action of ["org.create", "org.delete"])
    await tdb.db.unsafe.auditLog.create({
      data: { orgId: org.id, actorType: "user", actorId: user.id, action },
    });
  return org.id;
}

/** Rows in every telemetry table for the org (materialized views add rows to their targets too). */
async function seedTelemetry(orgId: string, n: number): Promise<void> {
  for (const table of orgTables()) {
    // Time columns get now() (at their 1970 default a table's TTL would drop the rows at once) and
    // numbers 1 (a SummingMergeTree drops rows whose sums are all zero).
    const rs = await ch.client.query({
      query: `SELECT name, type LIKE 'DateTime%' AS time FROM system.columns
              WHERE database = currentDatabase() AND table = {table:String} AND default_kind = ''
                AND (type LIKE 'DateTime%' OR match(type, '^U?Int|^Float'))`,
      query_params: { table },
      format: "JSONEachRow",
    });
    const cols = await rs.json<{ name: string; time: number }>();
    await ch.client.command({
      query: `INSERT INTO ${table} (org_id${cols.map((c) => `, ${c.name}`).join("")})
              SELECT {org:UUID}${cols.map((c) => (c.time ? ", now()" : ", 1")).join("")} FROM numbers(${n})`,
      query_params: { org: orgId },
    });
  }
  // Background merges would collapse the identical rows of Replacing/Summing/Aggregating tables
  // at any moment; merged now, the counts below hold still.
  for (const table of orgTables()) await ch.client.command({ query: `OPTIMIZE TABLE ${table} FINAL` });
}

async function clickhouseCounts(orgId: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const table of orgTables()) {
    const rs = await ch.client.query({
      query: `SELECT count() AS n FROM ${table} WHERE org_id = {org:UUID}`,
      query_params: { org: orgId },
      format: "JSONEachRow",
    });
    out[table] = Number((await rs.json<{ n: string }>())[0]?.n);
  }
  return out;
}

async function postgresCounts(orgId: string): Promise<Record<string, number>> {
  const tables = await tdb.db.unsafe.$queryRaw<{ table_name: string }[]>`
    SELECT c.table_name FROM information_schema.columns c
    JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
    WHERE c.table_schema = current_schema() AND c.column_name = 'org_id' AND t.table_type = 'BASE TABLE'`;
  const out: Record<string, number> = {};
  for (const { table_name } of tables) {
    const [row] = await tdb.db.unsafe.$queryRawUnsafe<{ n: bigint }[]>(
      `SELECT count(*) AS n FROM "${table_name}" WHERE org_id = $1::uuid`,
      orgId,
    );
    out[table_name] = Number(row?.n);
  }
  return out;
}

const nonZero = (c: Record<string, number>) => Object.fromEntries(Object.entries(c).filter(([, n]) => n > 0));

async function markDeleted(orgId: string, deleteAfter: Date) {
  await tdb.db.unsafe.organization.update({
    where: { id: orgId },
    data: { deletedAt: new Date(deleteAfter.getTime() - 7 * DAY), deleteAfter },
  });
}

describe("org purge", () => {
  it("removes a due org's rows from Postgres and every ClickHouse table; the other orgs keep every row", async () => {
    const [doomed, kept, inGrace] = [await seedTenant(), await seedTenant(), await seedTenant()];
    await seedTelemetry(doomed, 3);
    await seedTelemetry(kept, 2);
    const before = {
      doomedCh: await clickhouseCounts(doomed),
      keptCh: await clickhouseCounts(kept),
      doomedPg: await postgresCounts(doomed),
      keptPg: await postgresCounts(kept),
    };
    // Every telemetry table holds rows of both orgs, so a table the purge skipped would show.
    for (const [table, n] of Object.entries(before.doomedCh)) expect(n, table).toBeGreaterThan(0);
    for (const [table, n] of Object.entries(before.keptCh)) expect(n, table).toBeGreaterThan(0);
    // Plain MergeTree tables keep every inserted row (3 and 2): the counts are the rows written.
    expect(before.doomedCh.l4_flow_log).toBe(3);
    expect(before.keptCh.l4_flow_log).toBe(2);
    expect(nonZero(before.doomedPg)).toMatchObject({
      memberships: 1,
      agent_groups: 1,
      agents: 2,
      enrollment_tokens: 1,
      audit_logs: 2,
    });

    await markDeleted(doomed, new Date(Date.now() - 1000));
    await markDeleted(inGrace, new Date(Date.now() + DAY));
    const result = await unsafePurgeDeletedOrganizations({ db: tdb.db, clickhouse: ch.client, log });

    expect(result.failed).toEqual([]);
    expect(result.purged.map((p) => p.orgId)).toEqual([doomed]);
    const [purge] = result.purged;
    expect(purge?.clickhouseRows).toEqual(before.doomedCh);
    expect(nonZero(purge?.postgresRows ?? {})).toEqual({
      ...nonZero(before.doomedPg),
      organizations: undefined,
    });
    expect(nonZero(await clickhouseCounts(doomed))).toEqual({});
    expect(nonZero(await postgresCounts(doomed))).toEqual({});
    expect(await tdb.db.unsafe.organization.findUnique({ where: { id: doomed } })).toBeNull();
    // The org's audit log is gone with it; the purge record keeps who deleted it and the counts.
    const record = await tdb.db.unsafe.organizationPurge.findFirstOrThrow({ where: { purgedOrgId: doomed } });
    expect(record).toMatchObject({
      deletedBy: { actorType: "user" },
      clickhouseRows: before.doomedCh,
      postgresRows: purge?.postgresRows,
    });
    // The others: exactly the rows they had.
    expect(await clickhouseCounts(kept)).toEqual(before.keptCh);
    expect(await postgresCounts(kept)).toEqual(before.keptPg);
    expect(await tdb.db.unsafe.organization.findUnique({ where: { id: inGrace } })).not.toBeNull();
    // Users are platform-level: the doomed org's member keeps their account.
    expect(await tdb.db.unsafe.user.count()).toBe(3);
  });

  it("runs once per tick however many controllers schedule it", async () => {
    const prefix = `fp:test:${randomBytes(4).toString("hex")}`;
    const opts = { db: tdb.db, clickhouse: ch.client, connection: redis, log, everyMs: 300, prefix };
    const [p1, p2] = [await startOrgPurgeJobs(opts), await startOrgPurgeJobs(opts)];
    try {
      expect(await p1.queue.getJobSchedulersCount()).toBe(1);
      const results: TPurgeResult[] = [];
      for (const p of [p1, p2]) p.worker.on("completed", (_job, r) => results.push(r));
      const org = await seedTenant();
      await seedTelemetry(org, 1);
      await markDeleted(org, new Date(Date.now() - 1000));
      const deadline = Date.now() + 30_000;
      while (
        (results.length < 3 || (await tdb.db.unsafe.organization.findUnique({ where: { id: org } }))) &&
        Date.now() < deadline
      ) {
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(await tdb.db.unsafe.organization.findUnique({ where: { id: org } })).toBeNull();
      const purges = results.flatMap((r) => r.purged.map((p) => p.orgId));
      expect(purges).toEqual([org]);
      expect(results.flatMap((r) => r.failed)).toEqual([]);
    } finally {
      await p1.close();
      await p2.close();
    }
  });
});

describe("a deleted organization's agents", () => {
  it("are refused from the deletion on: no sync, no ingest, no new enrolment", async () => {
    const h = await startHarness("ctl_purge_auth");
    try {
      const { org, group, token } = await seedHarnessTenant(h);
      const agent = await enroll(h, token.token);
      const sync = () =>
        h.app.inject({
          method: "POST",
          url: "/v1/agents/sync",
          headers: bearer(agent.credential),
          payload: syncBody(agent.agentId),
        });
      expect((await sync()).statusCode).toBe(200);
      const spare = await seedEnrollmentToken(h.tdb.db, org.id, group.id);
      await h.tdb.db.unsafe.organization.update({
        where: { id: org.id },
        data: { deletedAt: new Date(), deleteAfter: new Date(Date.now() + 7 * DAY) },
      });
      const refused = await sync();
      expect(refused.statusCode).toBe(401);
      expect(refused.body).toContain("organization was deleted");
      const again = await h.app.inject({
        method: "POST",
        url: "/v1/agents/enroll",
        payload: enrollBody(spare.token),
      });
      expect(again.statusCode).toBe(401);
      expect(again.body).toContain("belongs to a deleted organization");
    } finally {
      await h.close();
    }
  });
});
