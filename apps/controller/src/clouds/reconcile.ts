import type { Db } from "@flowplane/db/client";
import type { TSourceResource } from "@flowplane/db/clouds";

type TSnapshot = Pick<TSourceResource, "name" | "refs" | "cidr" | "ips" | "labels" | "attrs">;

export type TReconcileResult = { created: number; updated: number; deleted: number; version: number };

function stable(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stable).join(",")}]`;
  if (v && typeof v === "object") {
    return `{${Object.keys(v as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stable((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v ?? null);
}

function snapshot(r: {
  name: string;
  refs: unknown;
  cidr?: string | null;
  ips: string[];
  labels: unknown;
  attrs: unknown;
}): TSnapshot {
  return {
    name: r.name,
    refs: (r.refs ?? {}) as TSnapshot["refs"],
    ...(r.cidr ? { cidr: r.cidr } : {}),
    ips: [...r.ips],
    labels: (r.labels ?? {}) as TSnapshot["labels"],
    attrs: (r.attrs ?? {}) as TSnapshot["attrs"],
  };
}

/**
 * Makes one account's resources in Postgres what its source reported: new ones are created with
 * fresh tag ids, changed ones updated, missing ones marked deleted (kept: their tag ids still name
 * old rows; one that comes back is revived with the same id), each change recorded with
 * before/after. One transaction; tag ids are reserved by incrementing the org's inventory row,
 * which also serialises concurrent syncs of the same org. The dictionary version moves only when
 * something changed.
 */
export async function reconcileResources(
  db: Db,
  orgId: string,
  accountId: string,
  incoming: TSourceResource[],
): Promise<TReconcileResult> {
  const scoped = db.forOrg(orgId);
  const want = new Map<string, TSourceResource>();
  for (const r of incoming) want.set(`${r.kind}|${r.externalId}`, r);
  return scoped.$transaction(
    async (tx) => {
      await tx.cloudInventory.upsert({ where: { orgId }, create: { orgId }, update: {} });
      const existing = await tx.cloudResource.findMany({ where: { accountId } });
      const have = new Map(existing.map((e) => [`${e.kind}|${e.externalId}`, e]));
      const toCreate = [...want.entries()].filter(([k]) => !have.has(k)).map(([, r]) => r);
      const changes: {
        resourceId: string;
        action: "created" | "updated" | "deleted";
        before?: TSnapshot;
        after?: TSnapshot;
      }[] = [];
      const now = new Date();
      let updated = 0;
      let deleted = 0;
      for (const e of existing) {
        const key = `${e.kind}|${e.externalId}`;
        const r = want.get(key);
        const before = snapshot(e);
        if (!r) {
          if (e.deletedAt) continue;
          await tx.cloudResource.update({ where: { id: e.id }, data: { deletedAt: now } });
          changes.push({ resourceId: e.id, action: "deleted", before });
          deleted++;
          continue;
        }
        const after = snapshot(r);
        if (!e.deletedAt && stable(before) === stable(after)) continue;
        await tx.cloudResource.update({
          where: { id: e.id },
          data: {
            name: r.name,
            refs: r.refs,
            cidr: r.cidr ?? null,
            ips: r.ips,
            labels: r.labels,
            attrs: r.attrs as object,
            deletedAt: null,
          },
        });
        changes.push({ resourceId: e.id, action: e.deletedAt ? "created" : "updated", before, after });
        updated++;
      }
      let version: number;
      if (toCreate.length > 0 || changes.length > 0) {
        const inv = await tx.cloudInventory.update({
          where: { orgId },
          data: { nextTagId: { increment: toCreate.length }, version: { increment: 1 } },
        });
        version = inv.version;
        const firstTag = inv.nextTagId - toCreate.length;
        const created = await tx.cloudResource.createManyAndReturn({
          data: toCreate.map((r, i) => ({
            orgId,
            accountId,
            kind: r.kind,
            externalId: r.externalId,
            name: r.name,
            tagId: firstTag + i,
            refs: r.refs,
            ...(r.cidr ? { cidr: r.cidr } : {}),
            ips: r.ips,
            labels: r.labels,
            attrs: r.attrs as object,
          })),
          select: { id: true, kind: true, externalId: true },
        });
        for (const c of created) {
          const r = want.get(`${c.kind}|${c.externalId}`);
          changes.push({ resourceId: c.id, action: "created", ...(r ? { after: snapshot(r) } : {}) });
        }
        await tx.cloudResourceChange.createMany({
          data: changes.map((c) => ({
            orgId,
            resourceId: c.resourceId,
            action: c.action,
            ...(c.before ? { before: c.before as object } : {}),
            ...(c.after ? { after: c.after as object } : {}),
          })),
        });
      } else {
        version = (await tx.cloudInventory.findUniqueOrThrow({ where: { orgId } })).version;
      }
      return { created: toCreate.length, updated, deleted, version };
    },
    { timeout: 60_000 },
  );
}
