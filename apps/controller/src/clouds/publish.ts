import type { Db } from "@flowplane/db/client";
import { upsertTags } from "@flowplane/query";
import type { ClickHouseClient } from "@flowplane/query/client";
import type { Redis } from "ioredis";
import { ancestryOf } from "../tagging/dictionary.ts";
import { loadDictResources } from "../tagging/load.ts";
import { VERSION_CHANNEL, versionKey } from "../tagging/tagger.ts";

/**
 * After a sync changed the model: names of every resource (deleted ones too, their ids still name
 * old rows) go to ClickHouse `tag_dict` (kind `resource`), so a rename shows on old rows, and each
 * id's levels and labels to `resource_tags` (query-time filter/group by VPC, namespace…); then the
 * new version is set and published on Redis for the taggers of every ingest process.
 */
export async function publishResourceTags(opts: {
  db: Db;
  orgId: string;
  version: number;
  clickhouse?: ClickHouseClient;
  redis?: Redis;
}): Promise<{ names: number }> {
  let names = 0;
  if (opts.clickhouse) {
    const rows = await opts.db.forOrg(opts.orgId).cloudResource.findMany({
      select: { tagId: true, name: true },
      orderBy: { tagId: "asc" },
    });
    for (let i = 0; i < rows.length; i += 10_000) {
      const tags = rows.slice(i, i + 10_000).map((r) => ({ id: r.tagId, name: r.name.slice(0, 256) }));
      await upsertTags(opts.clickhouse, { orgId: opts.orgId, kind: "resource", tags });
    }
    names = rows.length;
    const all = await loadDictResources(opts.db, opts.orgId, { includeDeleted: true });
    const levels = ancestryOf(all);
    for (let i = 0; i < all.length; i += 10_000) {
      await opts.clickhouse.insert({
        table: "resource_tags",
        format: "JSONEachRow",
        values: all.slice(i, i + 10_000).map((r) => {
          const l = levels(r);
          return {
            org_id: opts.orgId,
            id: r.tagId,
            kind: r.kind,
            region_id: l.region,
            az_id: l.az,
            vpc_id: l.vpc,
            subnet_id: l.subnet,
            host_id: l.host,
            k8s_cluster_id: l.k8s_cluster,
            k8s_node_id: l.k8s_node,
            namespace_id: l.namespace,
            service_id: l.service,
            workload_id: l.workload,
            pod_id: l.pod,
            labels: r.labels,
            deleted: r.deleted ? 1 : 0,
          };
        }),
      });
    }
  }
  if (opts.redis) {
    await opts.redis.set(versionKey(opts.orgId), String(opts.version));
    await opts.redis.publish(VERSION_CHANNEL, opts.orgId);
  }
  return { names };
}
