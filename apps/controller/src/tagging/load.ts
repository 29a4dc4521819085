import type { Db } from "@flowplane/db/client";
import { TagDictionary, type TDictResource } from "./dictionary.ts";

/** The org's dictionary version (0 before its first sync): what taggers compare to reload. */
export async function dictionaryVersion(db: Db, orgId: string): Promise<number> {
  const inv = await db
    .forOrg(orgId)
    .cloudInventory.findUnique({ where: { orgId }, select: { version: true } });
  return inv?.version ?? 0;
}

/** The org's resources as the dictionary needs them (live ones only unless asked). */
export async function loadDictResources(
  db: Db,
  orgId: string,
  opts: { includeDeleted?: boolean } = {},
): Promise<(TDictResource & { labels: Record<string, string>; deleted: boolean })[]> {
  const rows = await db.forOrg(orgId).cloudResource.findMany({
    where: opts.includeDeleted ? {} : { deletedAt: null },
    select: {
      labels: true,
      deletedAt: true,
      accountId: true,
      kind: true,
      externalId: true,
      tagId: true,
      refs: true,
      cidr: true,
      ips: true,
      attrs: true,
      account: { select: { kind: true } },
    },
  });
  return rows.map((r) => ({
    labels: (r.labels ?? {}) as Record<string, string>,
    deleted: r.deletedAt !== null,
    accountId: r.accountId,
    accountKind: r.account.kind,
    kind: r.kind,
    externalId: r.externalId,
    tagId: r.tagId,
    refs: (r.refs ?? {}) as Record<string, string>,
    cidr: r.cidr,
    ips: r.ips,
    attrs: (r.attrs ?? {}) as Record<string, unknown>,
  }));
}

/** Builds the org's dictionary from Postgres: live (not deleted) resources only. */
export async function loadDictionary(db: Db, orgId: string): Promise<TagDictionary> {
  // Read the version first: a sync landing in between makes the next check reload again.
  const version = await dictionaryVersion(db, orgId);
  return new TagDictionary(version, await loadDictResources(db, orgId));
}
