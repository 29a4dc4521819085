import { randomBytes } from "node:crypto";
import { createCloudAccount, SecretsKey } from "@flowplane/db/clouds";
import { seedEnrollmentToken } from "@flowplane/db/seed";
import type { TEnrollResponse, TIngestTable } from "@flowplane/protocol";
import { tagNames } from "@flowplane/query";
import { recordRows } from "@flowplane/query/client";
import { createTestClickhouse } from "@flowplane/query/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { syncCloudAccount } from "../../src/clouds/sync.ts";
import type { TTaggingRowWriter, TTagRows, TWriteOptions } from "../../src/ingest/ingest.ts";
import { ResourceTagger, withTagging } from "../../src/tagging/tagger.ts";
import { bearer, enrollBody, seedTenant, startHarness, type THarness } from "../harness.ts";
import { startFakeEc2, type TFakeEc2, twoVpcRegion } from "./fake-ec2.ts";
import { sampleCluster, startFakeKube, type TFakeKube } from "./fake-kube.ts";

let seq = 0;
function l4Row(client_ip: string, server_ip: string, extra: Record<string, unknown> = {}) {
  const now = Date.now() * 1000;
  seq += 1;
  return {
    flow_id: String(9_000_000 + seq),
    start_time: now - 1_000_000,
    end_time: now,
    client_ip,
    client_port: 40_000 + seq,
    server_ip,
    server_port: 443,
    ip_protocol: 6,
    vlan: 0,
    tunnel_type: "",
    tunnel_id: 0,
    tunnel_outer_src: "",
    tunnel_outer_dst: "",
    packets_c2s: 1,
    packets_s2c: 1,
    bytes_c2s: 100,
    bytes_s2c: 200,
    close_type: "fin",
    tcp_flags_c2s: 0x1b,
    tcp_flags_s2c: 0x1b,
    rtt_us: 1,
    rtt_client_us: 1,
    rtt_server_us: 1,
    srt_us: 1,
    syn_count: 1,
    synack_count: 1,
    retrans_c2s: 0,
    retrans_s2c: 0,
    zero_win_c2s: 0,
    zero_win_s2c: 0,
    out_of_order_c2s: 0,
    out_of_order_s2c: 0,
    l7_protocol: "tls",
    ...extra,
  };
}

describe("ingest tags rows with resource ids (controller ingest, Postgres, Redis, ClickHouse)", () => {
  let h: THarness;
  let ch: Awaited<ReturnType<typeof createTestClickhouse>>;
  let ec2: TFakeEc2;
  let kube: TFakeKube;
  let tagger: ResourceTagger;
  let ingestTagCalls = 0;
  const key = SecretsKey.fromBase64(randomBytes(32).toString("base64"));

  beforeAll(async () => {
    ch = await createTestClickhouse("ctl_tagging");
    ec2 = await startFakeEc2({ "eu-west-1": twoVpcRegion() });
    kube = await startFakeKube(sampleCluster());
    // The harness needs its writer before its database exists; the tagging writer (and its
    // `tagRows`, which ingestBatch calls on the parsed rows) is bound once the tagger is.
    let writer: TTaggingRowWriter | undefined;
    const lazy: TTaggingRowWriter = Object.assign(
      (table: TIngestTable, orgId: string, rows: Record<string, unknown>[], opts?: TWriteOptions) => {
        if (!writer) throw new Error("tagger not ready");
        return writer(table, orgId, rows, opts);
      },
      {
        tagRows: (async (...a) => {
          ingestTagCalls++;
          await writer?.tagRows?.(...a);
        }) satisfies TTagRows,
      },
    );
    h = await startHarness("ctl_tagging", { writeRows: lazy });
    tagger = new ResourceTagger({ db: h.tdb.db, redis: h.redis, checkEveryMs: 0 });
    writer = withTagging(tagger, (t, o, r, w) => recordRows(ch.client, t, o, r, w));
  });
  afterAll(async () => {
    await h?.close();
    await ec2?.close();
    await kube?.close();
    await ch?.drop();
  });

  async function enrollWith(token: string, ips: string[]): Promise<TEnrollResponse> {
    const res = await h.app.inject({
      method: "POST",
      url: "/v1/agents/enroll",
      payload: enrollBody(token, { ips }),
    });
    if (res.statusCode !== 201) throw new Error(`enrol failed: ${res.body}`);
    return res.json();
  }

  /** An org with two agents (one per VPC, both on 10.0.0.0/16), AWS, agent hosts and K8s synced. */
  async function twoVpcOrg() {
    const { org, group, token } = await seedTenant(h);
    const agentA = await enrollWith(token.token, ["10.0.1.5"]);
    const agentB = await enrollWith((await seedEnrollmentToken(h.tdb.db, org.id, group.id)).token, [
      "10.0.1.6",
    ]);
    const deps = { db: h.tdb.db, key, redis: h.redis, clickhouse: ch.client };
    const aws = await createCloudAccount(h.tdb.db, key, org.id, {
      kind: "aws",
      name: "aws",
      credentials: {
        accessKeyId: "AKID",
        secretAccessKey: "x",
        endpoint: ec2.url,
        homeRegion: "eu-west-1",
        tunnelIds: { "vpc-b": 4242 },
      },
    });
    const agents = await createCloudAccount(h.tdb.db, key, org.id, { kind: "agents", name: "agents" });
    const k8s = await createCloudAccount(h.tdb.db, key, org.id, {
      kind: "kubernetes",
      name: "eks",
      credentials: { server: kube.url, token: kube.token, skipTLSVerify: true },
    });
    await syncCloudAccount(deps, org.id, aws.id);
    await syncCloudAccount(deps, org.id, agents.id);
    await syncCloudAccount(deps, org.id, k8s.id);
    const tags = new Map(
      (await h.tdb.db.forOrg(org.id).cloudResource.findMany({ where: { accountId: aws.id } })).map((r) => [
        r.externalId,
        r.tagId,
      ]),
    );
    return { org, agentA, agentB, deps, aws, tags };
  }

  const send = async (agent: TEnrollResponse, rows: object[], table: TIngestTable = "l4_flow_log") => {
    const res = await h.app.inject({
      method: "POST",
      url: "/v1/ingest",
      headers: bearer(agent.credential),
      payload: { batchId: crypto.randomUUID(), agentId: agent.agentId, table, rows },
    });
    expect(res.json()).toMatchObject({ rejected: [] });
  };

  it("resolves overlapping 10.0.0.0/16 by the agent's VPC and tunnel id, and a rename shows on old rows", async () => {
    const { org, agentA, agentB, deps, aws, tags } = await twoVpcOrg();
    const calls = ingestTagCalls;
    await send(agentA, [
      l4Row("10.0.1.5", "10.0.1.10", { server_port: 1001 }),
      l4Row("10.0.1.5", "10.0.1.10", { server_port: 1003, tunnel_type: "vxlan", tunnel_id: 4242 }),
    ]);
    await send(agentB, [
      l4Row("10.0.1.6", "10.0.1.10", { server_port: 1002 }),
      l4Row("10.0.1.6", "172.31.0.1", { server_port: 1004 }),
      l4Row("10.244.1.9", "10.244.1.5", { server_port: 1005 }),
    ]);

    const rs = await ch.client.query({
      query: `SELECT server_port, client_resource_id, server_resource_id FROM l4_flow_log
              WHERE org_id = {org:UUID} ORDER BY server_port`,
      query_params: { org: org.id },
      format: "JSONEachRow",
    });
    const rows = await rs.json<{
      server_port: number;
      client_resource_id: number;
      server_resource_id: number;
    }>();
    expect(rows).toEqual([
      { server_port: 1001, client_resource_id: tags.get("i-a2"), server_resource_id: tags.get("i-a1") },
      { server_port: 1002, client_resource_id: tags.get("i-b2"), server_resource_id: tags.get("i-b1") },
      // the VXLAN id names vpc-b: the inner addresses are vpc-b's, whichever agent saw them
      { server_port: 1003, client_resource_id: tags.get("subnet-b1"), server_resource_id: tags.get("i-b1") },
      { server_port: 1004, client_resource_id: tags.get("i-b2"), server_resource_id: 0 },
      { server_port: 1005, client_resource_id: expect.any(Number), server_resource_id: expect.any(Number) },
    ]);

    // query time: group by the server's VPC and read pod labels through resource_tags
    const byVpc = await ch.client.query({
      query: `SELECT rt.vpc_id AS vpc, count() AS n FROM l4_flow_log AS l
              LEFT JOIN (SELECT id, argMax(vpc_id, updated_at) AS vpc_id FROM resource_tags
                         WHERE org_id = {org:UUID} GROUP BY id) AS rt ON rt.id = l.server_resource_id
              WHERE l.org_id = {org:UUID} AND l.server_resource_id != 0 AND l.server_port < 1005
              GROUP BY vpc ORDER BY vpc`,
      query_params: { org: org.id },
      format: "JSONEachRow",
    });
    expect(await byVpc.json()).toEqual([
      { vpc: tags.get("vpc-a"), n: "1" },
      { vpc: tags.get("vpc-b"), n: "2" },
    ]);
    const labels = await ch.client.query({
      query: `SELECT rt.app AS app, rt.ns AS ns FROM l4_flow_log AS l
              JOIN (SELECT id, argMax(labels, updated_at)['app'] AS app, argMax(namespace_id, updated_at) AS ns
                    FROM resource_tags WHERE org_id = {org:UUID} GROUP BY id) AS rt ON rt.id = l.server_resource_id
              WHERE l.org_id = {org:UUID} AND l.server_port = 1005`,
      query_params: { org: org.id },
      format: "JSONEachRow",
    });
    const shop = await h.tdb.db
      .forOrg(org.id)
      .cloudResource.findFirstOrThrow({ where: { kind: "namespace", externalId: "shop" } });
    expect(await labels.json()).toEqual([{ app: "web", ns: shop.tagId }]);
    expect(tags.get("i-a1")).not.toBe(tags.get("i-b1"));
    expect(ingestTagCalls - calls).toBe(2); // ingestBatch tagged the parsed rows of both batches

    const before = await tagNames(ch.client, { orgId: org.id, kind: "resource" });
    expect(before.get(tags.get("i-a1") ?? -1)).toBe("prod-web");

    // rename in the cloud → the next sync names the same id anew; old rows show the new name
    const inst = ec2.regions["eu-west-1"]?.instances.find((i) => i.id === "i-a1");
    if (inst) inst.name = "prod-web-v2";
    await syncCloudAccount(deps, org.id, aws.id);
    const after = await tagNames(ch.client, { orgId: org.id, kind: "resource" });
    const oldRowServer = rows[0]?.server_resource_id ?? -1;
    expect(after.get(oldRowServer)).toBe("prod-web-v2");
  });
  it("tags metrics rows like flow rows: network_metrics both sides, application_metrics the server", async () => {
    const { org, agentA, agentB, tags } = await twoVpcOrg();
    const now = Date.now() * 1000;
    const net = (client_ip: string, server_ip: string, server_port: number) => ({
      time: now,
      client_ip,
      server_ip,
      server_port,
      ip_protocol: 6,
      packets_c2s: 1,
      packets_s2c: 1,
      bytes_c2s: 100,
      bytes_s2c: 200,
      new_flows: 1,
      closed_flows: 0,
      rtt_sum_us: 10,
      rtt_count: 1,
      retrans_c2s: 0,
      retrans_s2c: 0,
      zero_win_c2s: 0,
      zero_win_s2c: 0,
      client_rst: 0,
      server_rst: 0,
    });
    const app = (server_ip: string, server_port: number) => ({
      time: now,
      server_ip,
      server_port,
      l7_protocol: "http",
      endpoint: "/",
      requests: 1,
      errors_client: 0,
      errors_server: 0,
      timeouts: 0,
      duration_sum_us: 900,
      duration_max_us: 900,
      latency_buckets: [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    });
    // The same addresses seen by an agent in each VPC resolve to each VPC's own instances.
    await send(agentA, [net("10.0.1.5", "10.0.1.10", 1001)], "network_metrics");
    await send(
      agentB,
      [net("10.0.1.6", "10.0.1.10", 1002), net("10.0.1.6", "172.31.0.1", 1004)],
      "network_metrics",
    );
    await send(agentA, [app("10.0.1.10", 1001)], "application_metrics");
    await send(agentB, [app("10.0.1.10", 1002)], "application_metrics");
    const read = async (query: string) =>
      (await ch.client.query({ query, query_params: { org: org.id }, format: "JSONEachRow" })).json();
    const expectedNet = [
      { server_port: 1001, client_resource_id: tags.get("i-a2"), server_resource_id: tags.get("i-a1") },
      { server_port: 1002, client_resource_id: tags.get("i-b2"), server_resource_id: tags.get("i-b1") },
      { server_port: 1004, client_resource_id: tags.get("i-b2"), server_resource_id: 0 },
    ];
    const expectedApp = [
      { server_port: 1001, server_resource_id: tags.get("i-a1") },
      { server_port: 1002, server_resource_id: tags.get("i-b1") },
    ];
    for (const tier of ["", "_1m", "_1h"]) {
      expect(
        await read(`SELECT server_port, client_resource_id, server_resource_id FROM network_metrics${tier}
                    WHERE org_id = {org:UUID} ORDER BY server_port`),
        `network_metrics${tier}`,
      ).toEqual(expectedNet);
      expect(
        await read(`SELECT server_port, server_resource_id FROM application_metrics${tier}
                    WHERE org_id = {org:UUID} ORDER BY server_port`),
        `application_metrics${tier}`,
      ).toEqual(expectedApp);
    }
  });
});
