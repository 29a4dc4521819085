import { recordRows } from "@flowplane/query/client";
import { createTestClickhouse, type TestClickhouse } from "@flowplane/query/testing";
import { agentL4Row } from "@flowplane/query/testing-fixtures";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OrgRowQuota } from "../src/ingest/quota.ts";
import { readUsage } from "../src/ingest/usage.ts";
import { bearer, enroll, seedTenant, startHarness, type THarness } from "./harness.ts";

describe("per-org ingest quota and usage metering", () => {
  let h: THarness;
  let ch: TestClickhouse;
  beforeAll(async () => {
    ch = await createTestClickhouse("ctl_quota");
    h = await startHarness("ctl_quota", {
      writeRows: (table, orgId, rows, opts) => recordRows(ch.client, table, orgId, rows, opts),
      options: { orgRowsPerS: 1 },
    });
  });
  afterAll(async () => {
    await h?.close();
    await ch?.drop();
  });

  it("counts rows per org per second across batches, gives back refused rows", async () => {
    const quota = new OrgRowQuota(h.redis, 10);
    const org = crypto.randomUUID();
    const other = crypto.randomUUID();
    const t = Date.UTC(2030, 0, 1, 0, 0, 0, 100);
    expect(await quota.take(org, 6, t)).toEqual({ ok: true });
    expect(await quota.take(org, 6, t + 10)).toEqual({ ok: false, retryAfterS: 1 });
    expect(await quota.take(org, 4, t + 20)).toEqual({ ok: true }); // the refused 6 were given back
    expect(await quota.take(other, 10, t + 30)).toEqual({ ok: true }); // another org has its own budget
    expect(await quota.take(org, 6, t + 1000)).toEqual({ ok: true }); // next second
    expect(await quota.take(org, 50, t + 2000)).toEqual({ ok: true }); // first batch of a window passes
  });

  it("refuses an org over its quota with 429 and writes nothing of that batch; meters what was stored", async () => {
    const { org, token } = await seedTenant(h);
    const e = await enroll(h, token.token);
    const send = (rows: object[], batchId = crypto.randomUUID()) =>
      h.app.inject({
        method: "POST",
        url: "/v1/ingest",
        headers: bearer(e.credential),
        payload: { batchId, agentId: e.agentId, table: "l4_flow_log", rows },
      });
    const statuses: number[] = [];
    let refusedId: string | undefined;
    // Three batches at once land in one quota second (a lone slow request could straddle two).
    for (let round = 0; round < 5 && !refusedId; round++) {
      const ids = [0, 1, 2].map(() => crypto.randomUUID());
      const results = await Promise.all(ids.map((id) => send([agentL4Row(), agentL4Row()], id)));
      results.forEach((res, k) => {
        statuses.push(res.statusCode);
        if (res.statusCode === 429) {
          refusedId = ids[k];
          expect(res.headers["retry-after"]).toBe("1");
          expect(res.json().error.message).toMatch(/quota of 1 rows\/s/);
        }
      });
    }
    expect(refusedId).toBeDefined();
    const stored = statuses.filter((s) => s === 200).length * 2;
    const day = new Date().toISOString().slice(0, 10);
    expect(await readUsage(h.redis, org.id, day)).toMatchObject({ rows: stored, batches: stored / 2 });
    expect((await readUsage(h.redis, org.id, day)).bytes).toBeGreaterThan(1000);
    const rs = await ch.client.query({
      query: "SELECT count() AS n FROM l4_flow_log WHERE org_id = {org:UUID}",
      query_params: { org: org.id },
      format: "JSONEachRow",
    });
    expect(await rs.json()).toEqual([{ n: String(stored) }]);
  });
});
