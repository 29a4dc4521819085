import type { Db } from "@flowplane/db/client";
import { type TDictResource, TagDictionary } from "./dictionary.ts";

/** The org's dictionary version (0 before its first sync): what taggers compare to reload. */
export async function dictionaryVersion(db: Db, orgId: string): Promise<number> {
  const inv = await db.forOrg(orgId).cloudInventory.findUnique({ where: { orgId }, select: { version: true } });
  return inv?.version ?? 0;
}

/** Builds the org's dictionary from Postgres: live (not deleted) resources only. */
export async function loadDictionary(db: Db, orgId: string): Promise<TagDictionary> {
  const scoped = db.forOrg(orgId);
  // Read the version first: a sync landing in between makes the next check reload again.
  const version = await dictionaryVersion(db, orgId);
  const rows = await scoped.cloudResource.findMany({
    where: { deletedAt: null },
    select: {
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
  const resources: TDictResource[] = rows.map((r) => ({
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
  return new TagDictionary(version, resources);
}
