import { z } from "zod";
import { orgProcedure } from "../../trpc/procedures.ts";

const ZChangeRow = z
  .object({
    id: z.string(),
    at: z.date(),
    action: z.enum(["created", "updated", "deleted"]),
    accountId: z.string(),
    resource: z.object({
      kind: z.string(),
      externalId: z.string(),
      name: z.string(),
      tagId: z.number().int(),
    }),
    /** Snapshot fields (name, refs, cidr, ips, labels, attrs) that differ between before and after. */
    changed: z.array(z.string()),
    /** The name before the change, when it was renamed. */
    previousName: z.string().nullable(),
  })
  .strict();

type TSnapshot = Record<string, unknown> | null;
const asSnapshot = (v: unknown): TSnapshot =>
  v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : null;

function changedFields(before: TSnapshot, after: TSnapshot): string[] {
  if (!before || !after) return [];
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  return keys.filter((k) => JSON.stringify(before[k] ?? null) !== JSON.stringify(after[k] ?? null));
}

/** The latest changes of the org's resource model, newest first; optionally one account's. */
export const history = orgProcedure("cloud.read")
  .input(z.object({ accountId: z.uuid().optional(), limit: z.number().int().min(1).max(500).default(50) }))
  .output(z.object({ changes: z.array(ZChangeRow) }))
  .query(async ({ ctx, input }) => {
    const rows = await ctx.db.cloudResourceChange.findMany({
      where: input.accountId ? { resource: { accountId: input.accountId } } : {},
      orderBy: [{ at: "desc" }, { id: "asc" }],
      take: input.limit,
      select: {
        id: true,
        at: true,
        action: true,
        before: true,
        after: true,
        resource: { select: { accountId: true, kind: true, externalId: true, name: true, tagId: true } },
      },
    });
    return {
      changes: rows.map(({ resource: { accountId, ...resource }, before, after, ...c }) => {
        const b = asSnapshot(before);
        const a = asSnapshot(after);
        const renamed = b && a && b.name !== a.name && typeof b.name === "string";
        return {
          ...c,
          accountId,
          resource,
          changed: changedFields(b, a),
          previousName: renamed ? (b.name as string) : null,
        };
      }),
    };
  });
