import type { Db } from "@flowplane/db/client";
import type { ClickHouseClient } from "@flowplane/query/client";
import { upsertTags } from "@flowplane/query";
import type { Redis } from "ioredis";
import { VERSION_CHANNEL, versionKey } from "../tagging/tagger.ts";

/**
 * After a sync changed the model: names of every resource (deleted ones too, their ids still name
 * old rows) go to ClickHouse `tag_dict` (kind `resource`), so a rename shows on old rows; then the
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
  }
  if (opts.redis) {
    await opts.redis.set(versionKey(opts.orgId), String(opts.version));
    await opts.redis.publish(VERSION_CHANNEL, opts.orgId);
  }
  return { names };
}
