import { z } from "zod";
import { orgProcedure } from "../../trpc/procedures.ts";

export const ZAccountKind = z.enum(["aws", "kubernetes", "manual", "agents"]);

const ZCloudAccountRow = z.object({
  id: z.string(),
  kind: ZAccountKind,
  name: z.string(),
  /** never: no sync finished yet; ok: the last attempt succeeded; failing: the last attempt failed. */
  status: z.enum(["never", "ok", "failing"]),
  lastSyncAt: z.date().nullable(),
  lastError: z.string().nullable(),
  createdAt: z.date(),
  /** Live resources by kind (deleted ones keep their rows and tag ids but are not counted). */
  resources: z.record(z.string(), z.number().int()),
  deletedResources: z.number().int(),
});

/**
 * The org's cloud accounts with their sync status and resource counts. The select names every
 * field it returns and the output schema is strict, so the sealed credentials can never leave.
 */
export const list = orgProcedure("cloud.read")
  .output(z.object({ accounts: z.array(ZCloudAccountRow.strict()) }))
  .query(async ({ ctx }) => {
    const [accounts, live, deleted] = await Promise.all([
      ctx.db.cloudAccount.findMany({
        where: { deletedAt: null },
        select: { id: true, kind: true, name: true, lastSyncAt: true, lastError: true, createdAt: true },
        orderBy: [{ name: "asc" }, { id: "asc" }],
      }),
      ctx.db.cloudResource.groupBy({
        by: ["accountId", "kind"],
        where: { deletedAt: null },
        _count: { _all: true },
      }),
      ctx.db.cloudResource.groupBy({
        by: ["accountId"],
        where: { deletedAt: { not: null } },
        _count: { _all: true },
      }),
    ]);
    const counts = new Map<string, Record<string, number>>();
    for (const g of live) {
      const c = counts.get(g.accountId) ?? {};
      c[g.kind] = g._count._all;
      counts.set(g.accountId, c);
    }
    const gone = new Map(deleted.map((g) => [g.accountId, g._count._all]));
    return {
      accounts: accounts.map((a) => ({
        ...a,
        // sync clears lastError on success and keeps lastSyncAt on failure: the error wins.
        status: a.lastError ? ("failing" as const) : a.lastSyncAt ? ("ok" as const) : ("never" as const),
        resources: counts.get(a.id) ?? {},
        deletedResources: gone.get(a.id) ?? 0,
      })),
    };
  });
