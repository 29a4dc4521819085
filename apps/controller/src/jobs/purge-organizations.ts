import type { Logger } from "@flowplane/core/log";
import type { Db } from "@flowplane/db/client";
import type { ClickHouseClient } from "@flowplane/query/client";
import { deleteOrgRows } from "@flowplane/query/ddl";

export type TOrgPurge = {
  orgId: string;
  slug: string;
  /** Rows removed per ClickHouse table (every table of the query package's DDL with org_id). */
  clickhouseRows: Record<string, number>;
  /** Rows removed per Postgres table with an org_id column (by the cascade from organizations). */
  postgresRows: Record<string, number>;
};

export type TPurgeResult = { purged: TOrgPurge[]; failed: { orgId: string; error: string }[] };

/** Postgres tables that hold tenant rows: every table with an org_id column, found in the catalog. */
async function postgresOrgTables(tx: Pick<Db["unsafe"], "$queryRaw">): Promise<string[]> {
  const rows = await tx.$queryRaw<{ table_name: string }[]>`
    SELECT c.table_name FROM information_schema.columns c
    JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
    WHERE c.table_schema = current_schema() AND c.column_name = 'org_id' AND t.table_type = 'BASE TABLE'
    ORDER BY c.table_name`;
  return rows.map((r) => r.table_name);
}

/**
 * Removes every organization whose deletion grace period (`delete_after`) has passed: first its
 * ClickHouse rows (all telemetry tables), then its Postgres rows (one transaction: the org row,
 * whose foreign keys cascade to every tenant table, and an `organization_purges` row that keeps
 * who deleted it and what was removed, since the org's own audit log goes with it). ClickHouse goes first so that a failure there
 * leaves the org row, and with it the reason to try again, in place. Within the transaction the
 * rows of every table with an org_id are counted before and checked to be gone after, so a
 * table added without ON DELETE CASCADE fails the purge (rolled back) instead of leaving orphans.
 * Deliberately cross-tenant (the job serves every org), hence unsafe.
 */
export async function unsafePurgeDeletedOrganizations(
  deps: { db: Db; clickhouse: ClickHouseClient; log: Logger; clickhouseTables?: string[] },
  now = new Date(),
): Promise<TPurgeResult> {
  const due = await deps.db.unsafe.organization.findMany({
    where: { deletedAt: { not: null }, deleteAfter: { lte: now } },
    select: { id: true, slug: true, name: true, deletedAt: true, deleteAfter: true },
    orderBy: { deleteAfter: "asc" },
  });
  const result: TPurgeResult = { purged: [], failed: [] };
  for (const org of due) {
    const log = deps.log.child({ orgId: org.id, slug: org.slug });
    const started = Date.now();
    log.info(
      { deletedAt: org.deletedAt, deleteAfter: org.deleteAfter },
      "purging a deleted organization: grace period over",
    );
    try {
      const clickhouseRows = await deleteOrgRows(deps.clickhouse, org.id, {
        ...(deps.clickhouseTables ? { tables: deps.clickhouseTables } : {}),
        onProgress: (p) =>
          p.step === "table"
            ? log.info(
                { table: p.table, rows: p.rows, step: `${p.index + 1}/${p.total}` },
                "purge: deleting the org's ClickHouse rows",
              )
            : log.info(
                { table: p.table, rowsLeft: p.rowsLeft, waitedMs: p.waitedMs },
                "purge: deletion running",
              ),
      });
      const postgresRows = await deps.db.unsafe.$transaction(
        async (tx) => {
          const tables = await postgresOrgTables(tx);
          const counts: Record<string, number> = {};
          const countOf = async (table: string) => {
            // Table names come from the catalog, quoted as identifiers; the org id is bound.
            const [row] = await tx.$queryRawUnsafe<{ n: bigint }[]>(
              `SELECT count(*) AS n FROM "${table.replaceAll('"', '""')}" WHERE org_id = $1::uuid`,
              org.id,
            );
            return Number(row?.n ?? 0);
          };
          for (const t of tables) counts[t] = await countOf(t);
          // Who deleted it: the org's own audit log goes with it, so the record keeps the actor.
          const deletion = await tx.auditLog.findFirst({
            where: { orgId: org.id, action: "org.delete" },
            orderBy: { createdAt: "desc" },
            select: { actorType: true, actorId: true },
          });
          const gone = await tx.organization.deleteMany({
            where: { id: org.id, deletedAt: { not: null }, deleteAfter: { lte: now } },
          });
          if (gone.count !== 1) throw new Error("the organization was restored or purged meanwhile");
          for (const t of tables) {
            const left = await countOf(t);
            if (left > 0) throw new Error(`${left} rows of the org left in ${t} (no ON DELETE CASCADE?)`);
          }
          await tx.organizationPurge.create({
            data: {
              purgedOrgId: org.id,
              slug: org.slug,
              name: org.name,
              deletedAt: org.deletedAt ?? now,
              ...(deletion ? { deletedBy: deletion } : {}),
              clickhouseRows,
              postgresRows: counts,
            },
          });
          return counts;
        },
        { timeout: 120_000 },
      );
      const purge = { orgId: org.id, slug: org.slug, clickhouseRows, postgresRows };
      result.purged.push(purge);
      log.info(
        {
          clickhouseRows: sum(clickhouseRows),
          postgresRows: sum(postgresRows),
          tables: { clickhouse: clickhouseRows, postgres: postgresRows },
          ms: Date.now() - started,
        },
        "organization purged: its Postgres and ClickHouse rows are gone",
      );
    } catch (err) {
      result.failed.push({ orgId: org.id, error: err instanceof Error ? err.message : String(err) });
      log.error({ err }, "purging the organization failed: kept, the next run tries again");
    }
  }
  return result;
}

function sum(counts: Record<string, number>): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}
