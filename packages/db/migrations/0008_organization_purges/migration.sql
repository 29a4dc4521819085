-- The record of an organization's purge (issue 6). The org's own rows, its audit log included,
-- are gone after it; this row keeps who deleted it, when it was purged and how many rows each
-- store lost. Platform-level, no foreign key: it outlives the tenant on purpose.
CREATE TABLE "organization_purges" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "purged_org_id" UUID NOT NULL,
    "slug" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "deleted_at" TIMESTAMPTZ(3) NOT NULL,
    "deleted_by" JSONB,
    "purged_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "clickhouse_rows" JSONB NOT NULL,
    "postgres_rows" JSONB NOT NULL,
    CONSTRAINT "organization_purges_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "organization_purges_purged_at_idx" ON "organization_purges"("purged_at");
