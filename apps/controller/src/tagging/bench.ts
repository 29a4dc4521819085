import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import type { Logger } from "@flowplane/core/log";
import { createCloudAccount, SecretsKey } from "@flowplane/db/clouds";
import { seedOrg } from "@flowplane/db/seed";
import type { ClickHouseClient } from "@flowplane/query/client";
import { CredentialHolder, HttpExporter, makeBatch } from "../../../agent/src/controller-link/index.ts";
import type { TAgentApiDeps } from "../agents/api.ts";
import { syncCloudAccount } from "../clouds/sync.ts";
import { buildControllerServer } from "../http/server.ts";
import { enrollBenchAgent } from "../ingest/bench-enroll.ts";
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
  rounds: number;
}) {
  const { db } = opts.agentApi;
  const org = await seedOrg(db);
  const key = SecretsKey.fromBase64(randomBytes(32).toString("base64"));
  const resources: object[] = [{ kind: "vpc", externalId: "bench-vpc", name: "bench", cidr: "10.0.0.0/8" }];
  for (let k = 0; k < 4; k++) {
    resources.push({
      kind: "subnet",
      externalId: `c${k}`,
      name: `clients-${k}`,
      cidr: `10.${k}.0.0/16`,
      refs: { vpc: "bench-vpc" },
    });
  }
  for (let j = 0; j < 16; j++) {
    resources.push({
      kind: "subnet",
      externalId: `s${j}`,
      name: `servers-${j}`,
      cidr: `10.200.${j}.0/24`,
      refs: { vpc: "bench-vpc" },
    });
    for (let i = 0; i < 256; i++) {
      resources.push({
        kind: "host",
        externalId: `h${j}-${i}`,
        name: `srv-${j}-${i}`,
        ips: [`10.200.${j}.${i}`],
        refs: { vpc: "bench-vpc", subnet: `s${j}` },
      });
    }
  }
  const account = await createCloudAccount(db, key, org.id, {
    kind: "manual",
    name: "bench",
    credentials: { format: "json", text: JSON.stringify({ resources }) },
  });
  await syncCloudAccount(
    { db, key, redis: opts.agentApi.redis, clickhouse: opts.clickhouse },
    org.id,
    account.id,
  );

  const tagger = new ResourceTagger({ db, redis: opts.agentApi.redis });
  const app = buildControllerServer({
    log: opts.log,
    probes: {},
    agentApi: { ...opts.agentApi, writeRows: withTagging(tagger, opts.agentApi.writeRows, opts.log) },
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const plain = buildControllerServer({ log: opts.log, probes: {}, agentApi: opts.agentApi });
  await plain.listen({ host: "127.0.0.1", port: 0 });
  const plainUrl = `http://127.0.0.1:${(plain.server.address() as AddressInfo).port}`;
  try {
    const { agent } = await enrollBenchAgent(db, url, { org, hostname: "bench-tagged" });
    const exporterFor = (u: string) =>
      new HttpExporter({
        endpoint: () => u,
        credential: new CredentialHolder(agent.credential),
        deadlineMs: 120_000,
      });

    // Tagging alone, in process: the dictionary build and rows/s of tagRows over the same rows.
    const t0 = performance.now();
    const dict = await tagger.dictionaryFor(org.id);
    const buildMs = performance.now() - t0;
    // Parsed from JSON text, as ingest receives them (objects built in JS behave differently).
    const rowsText = JSON.stringify(Array.from({ length: opts.rows }, (_, i) => opts.makeRow(i, opts.nowUs)));
    const sample: Record<string, unknown>[] = JSON.parse(rowsText);
    const t1 = performance.now();
    for (let i = 0; i < sample.length; i += opts.batch)
      await tagger.tagRows("l4_flow_log", org.id, sample.slice(i, i + opts.batch), agent.agentId);
    const tagRowsPerS = sample.length / ((performance.now() - t1) / 1000);
    const resolved =
      sample.filter((r) => r.client_resource_id).length + sample.filter((r) => r.server_resource_id).length;
    void dict;

    const makeBatches = () => {
      const batches: ReturnType<typeof makeBatch>[] = [];
      for (let start = 0; start < opts.rows; start += opts.batch) {
        const rows: Record<string, unknown>[] = [];
        for (let i = start; i < Math.min(opts.rows, start + opts.batch); i++)
          rows.push(opts.makeRow(i, opts.nowUs));
        batches.push(makeBatch(agent.agentId, "l4_flow_log", rows));
      }
      return batches;
    };
    const run = async (u: string) => {
      const exporter = exporterFor(u);
      await exporter.export(
        makeBatch(agent.agentId, "l4_flow_log", [opts.makeRow(opts.rows + 1, opts.nowUs)]),
      );
      const batches = makeBatches();
      let next = 0;
      let accepted = 0;
      const t = performance.now();
      await Promise.all(
        Array.from({ length: opts.concurrency }, async () => {
          while (next < batches.length) {
            const b = batches[next++];
            if (!b) break;
            const r = await exporter.export(b);
            if (r.code !== "success") throw new Error(`batch ${b.batchId}: ${r.code}`);
            accepted += r.response.accepted;
          }
        }),
      );
      const seconds = (performance.now() - t) / 1000;
      return { accepted, seconds, rate: accepted / seconds };
    };
    // Off and on alternate (this machine's load moves between runs); medians of `rounds` each.
    const off: number[] = [];
    const on: number[] = [];
    let accepted = 0;
    let seconds = 0;
    for (let round = 0; round < opts.rounds; round++) {
      off.push((await run(plainUrl)).rate);
      const r = await run(url);
      on.push(r.rate);
      accepted += r.accepted;
      seconds += r.seconds;
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
    return {
      rows: accepted,
      seconds,
      rounds: opts.rounds,
      rowsPerS: median(on),
      offRowsPerS: median(off),
      resources: resources.length,
      taggedShare: (100 * resolved) / (2 * sample.length),
      tagRowsPerS,
      buildMs,
    };
  } finally {
    await app.close();
    await plain.close();
  }
}

/**
 * Bytes on disk of the tag columns per million L4 rows, sorted as `l4_flow_log` is, beside the
 * same tags stored as plain String names and as LowCardinality(String). The rows follow the bench's
 * model: clients in 4 subnets (ids 2-5), servers among 4 096 hosts.
 */
export async function measureTagColumnBytes(clickhouse: ClickHouseClient, rows = 1_000_000) {
  const variants = {
    ids: "UInt32 CODEC(ZSTD(1))", // as l4_flow_log declares its tag id columns (ddl 0004)
    strings: "String",
    lowcard: "LowCardinality(String)",
  } as const;
  const out: Record<keyof typeof variants, number> = { ids: 0, strings: 0, lowcard: 0 };
  for (const [name, type] of Object.entries(variants) as [keyof typeof variants, string][]) {
    const table = `bench_tag_bytes_${name}`;
    await clickhouse.command({ query: `DROP TABLE IF EXISTS ${table}` });
    await clickhouse.command({
      query: `CREATE TABLE ${table} (org_id UUID, end_time DateTime64(6, 'UTC'), server_ip IPv6, server_port UInt16,
                client_tag ${type}, server_tag ${type})
              ENGINE = MergeTree ORDER BY (org_id, toStartOfHour(end_time), server_ip, server_port, end_time)`,
    });
    // A number's high bits pick the client subnet: near random against the sort key, like real clients.
    const client =
      name === "ids"
        ? "toUInt32(2 + (bitShiftRight(number, 16) % 4))"
        : "concat('clients-', toString(bitShiftRight(number, 16) % 4))";
    const server =
      name === "ids"
        ? "toUInt32(22 + (number % 4096))"
        : "concat('srv-', toString(intDiv(number % 4096, 256)), '-', toString(number % 256))";
    await clickhouse.command({
      query: `INSERT INTO ${table}
              SELECT toUUID('00000000-0000-4000-8000-000000000001'),
                     toDateTime64(now64(6) - toIntervalMicrosecond(number * 3600), 6, 'UTC'),
                     toIPv6(concat('::ffff:10.200.', toString(intDiv(number % 4096, 256)), '.', toString(number % 256))),
                     [80, 443, 53, 3306, 6379][(number % 5) + 1],
                     ${client}, ${server}
              FROM numbers(${rows})`,
    });
    await clickhouse.command({ query: `OPTIMIZE TABLE ${table} FINAL` });
    const rs = await clickhouse.query({
      query: `SELECT sum(data_compressed_bytes) AS b FROM system.columns
              WHERE database = currentDatabase() AND table = {t:String} AND name IN ('client_tag', 'server_tag')`,
      query_params: { t: table },
      format: "JSONEachRow",
    });
    out[name] = Number((await rs.json<{ b: string }>())[0]?.b ?? 0);
    await clickhouse.command({ query: `DROP TABLE IF EXISTS ${table}` });
  }
  const perM = (b: number) => (b * 1_000_000) / rows;
  return { ids: perM(out.ids), strings: perM(out.strings), lowcard: perM(out.lowcard) };
}
