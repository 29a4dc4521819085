import { appClickhouse } from "../../server/clickhouse.ts";
import { appDb } from "../../server/db.ts";
import { pingClickhouse, runHealthChecks } from "../../server/health.ts";

export const dynamic = "force-dynamic";

/** 200 when Postgres and ClickHouse answer, else 503 naming the failing check. */
export async function GET() {
  const report = await runHealthChecks({
    postgres: () => appDb().unsafe.$queryRaw`SELECT 1`,
    clickhouse: () => pingClickhouse(appClickhouse()),
  });
  return Response.json(report, {
    status: report.status === "ok" ? 200 : 503,
    headers: { "cache-control": "no-store" },
  });
}
