import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import type { Logger } from "@flowplane/core/log";
import { seedAgentGroup, seedEnrollmentToken, seedOrg } from "@flowplane/db/seed";
import type { ClickHouseClient } from "@flowplane/query/client";
import { CredentialHolder, enroll, HttpExporter, makeBatch } from "../../../agent/src/controller-link/index.ts";
import type { TAgentApiDeps } from "../agents/api.ts";
import { createCloudAccount } from "../clouds/accounts.ts";
import { SecretsKey } from "../clouds/secrets.ts";
import { syncCloudAccount } from "../clouds/sync.ts";
import { buildControllerServer } from "../http/server.ts";
import { ResourceTagger, withTagging } from "./tagger.ts";

/**
 * The tagging half of `bench-ingest --tagging`: a second controller (same Postgres, Redis, store)
 * whose writer tags rows, for a fresh org whose resource model covers the bench's addresses
 * (a /8 VPC, /16 client subnets, /24 server subnets, one host per server IP), fed the same rows.
 */
export async function benchTaggedIngest(opts: {
  agentApi: TAgentApiDeps;
  clickhouse: ClickHouseClient;
  log: Logger;
  rows: number;
  batch: number;
  concurrency: number;
  makeRow: (i: number, nowUs: number) => Record<string, unknown>;
  nowUs: number;
}) {
  const { db } = opts.agentApi;
  const org = await seedOrg(db);
  const key = SecretsKey.fromBase64(randomBytes(32).toString("base64"));
  const resources: object[] = [{ kind: "vpc", externalId: "bench-vpc", name: "bench", cidr: "10.0.0.0/8" }];
  for (let k = 0; k < 4; k++) {
    resources.push({ kind: "subnet", externalId: `c${k}`, name: `clients-${k}`, cidr: `10.${k}.0.0/16`, refs: { vpc: "bench-vpc" } });
  }
  for (let j = 0; j < 16; j++) {
    resources.push({ kind: "subnet", externalId: `s${j}`, name: `servers-${j}`, cidr: `10.200.${j}.0/24`, refs: { vpc: "bench-vpc" } });
    for (let i = 0; i < 256; i++) {
      resources.push({ kind: "host", externalId: `h${j}-${i}`, name: `srv-${j}-${i}`, ips: [`10.200.${j}.${i}`], refs: { vpc: "bench-vpc", subnet: `s${j}` } });
    }
  }
  const account = await createCloudAccount(db, key, org.id, {
    kind: "manual",
    name: "bench",
    credentials: { format: "json", text: JSON.stringify({ resources }) },
  });
  await syncCloudAccount({ db, key, redis: opts.agentApi.redis, clickhouse: opts.clickhouse }, org.id, account.id);

  const tagger = new ResourceTagger({ db, redis: opts.agentApi.redis });
  const app = buildControllerServer({
    log: opts.log,
    probes: {},
    agentApi: { ...opts.agentApi, writeRows: withTagging(tagger, opts.agentApi.writeRows, opts.log) },
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  try {
    const group = await seedAgentGroup(db, org.id);
    const token = await seedEnrollmentToken(db, org.id, group.id);
    const agent = await enroll(url, { enrollmentToken: token.token, hostname: "bench-tagged", ips: [], agentVersion: "bench", os: "linux" });
    const exporter = new HttpExporter({ endpoint: () => url, credential: new CredentialHolder(agent.credential), deadlineMs: 120_000 });

    // Tagging alone, in process: the dictionary build and rows/s of tagRows over the same rows.
    const t0 = performance.now();
    const dict = await tagger.dictionaryFor(org.id);
    const buildMs = performance.now() - t0;
    const sample: Record<string, unknown>[] = [];
    for (let i = 0; i < opts.rows; i++) sample.push({ ...opts.makeRow(i, opts.nowUs), agent_id: agent.agentId });
    const t1 = performance.now();
    for (let i = 0; i < sample.length; i += opts.batch) await tagger.tagRows("l4_flow_log", org.id, sample.slice(i, i + opts.batch));
    const tagRowsPerS = sample.length / ((performance.now() - t1) / 1000);
    const resolved = sample.filter((r) => r.client_resource_id).length + sample.filter((r) => r.server_resource_id).length;
    void dict;

    const batches: ReturnType<typeof makeBatch>[] = [];
    for (let start = 0; start < opts.rows; start += opts.batch) {
      const rows: Record<string, unknown>[] = [];
      for (let i = start; i < Math.min(opts.rows, start + opts.batch); i++) rows.push(opts.makeRow(i, opts.nowUs));
      batches.push(makeBatch(agent.agentId, "l4_flow_log", rows));
    }
    await exporter.export(makeBatch(agent.agentId, "l4_flow_log", [opts.makeRow(opts.rows + 1, opts.nowUs)]));
    let next = 0;
    let accepted = 0;
    const t2 = performance.now();
    await Promise.all(
      Array.from({ length: opts.concurrency }, async () => {
        while (next < batches.length) {
          const b = batches[next++];
          if (!b) break;
          const r = await exporter.export(b);
          if (r.code !== "success") throw new Error(`tagged batch ${b.batchId}: ${r.code}`);
          accepted += r.response.accepted;
        }
      }),
    );
    const seconds = (performance.now() - t2) / 1000;
    return {
      rows: accepted,
      seconds,
      rowsPerS: accepted / seconds,
      resources: resources.length,
      taggedShare: (100 * resolved) / (2 * sample.length),
      tagRowsPerS,
      buildMs,
    };
  } finally {
    await app.close();
  }
}
