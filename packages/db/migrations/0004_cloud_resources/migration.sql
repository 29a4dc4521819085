-- Resource model for AutoTagging (issue 9): resources learned from clouds, clusters, agents and
-- manual imports, each with a small per-organization SmartEncoding id, and their change history.
ALTER TYPE "cloud_account_kind" ADD VALUE 'agents';

CREATE TYPE "cloud_resource_kind" AS ENUM ('region', 'az', 'vpc', 'subnet', 'host', 'interface', 'k8s_cluster', 'k8s_node', 'namespace', 'service', 'workload', 'pod', 'appliance');
CREATE TYPE "cloud_resource_change_action" AS ENUM ('created', 'updated', 'deleted');

CREATE UNIQUE INDEX "cloud_accounts_org_id_id_key" ON "cloud_accounts"("org_id", "id");

CREATE TABLE "cloud_resources" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "org_id" UUID NOT NULL,
    "account_id" UUID NOT NULL,
    "kind" "cloud_resource_kind" NOT NULL,
    "external_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "tag_id" INTEGER NOT NULL,
    "refs" JSONB NOT NULL DEFAULT '{}',
    "cidr" TEXT,
    "ips" TEXT[] NOT NULL DEFAULT ARRAY[]::TEXT[],
    "labels" JSONB NOT NULL DEFAULT '{}',
    "attrs" JSONB NOT NULL DEFAULT '{}',
    "deleted_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    CONSTRAINT "cloud_resources_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "cloud_resources_org_id_account_id_kind_external_id_key" ON "cloud_resources"("org_id", "account_id", "kind", "external_id");
CREATE UNIQUE INDEX "cloud_resources_org_id_tag_id_key" ON "cloud_resources"("org_id", "tag_id");
CREATE UNIQUE INDEX "cloud_resources_org_id_id_key" ON "cloud_resources"("org_id", "id");
CREATE INDEX "cloud_resources_org_id_kind_idx" ON "cloud_resources"("org_id", "kind");

CREATE TABLE "cloud_resource_changes" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "org_id" UUID NOT NULL,
    "resource_id" UUID NOT NULL,
    "action" "cloud_resource_change_action" NOT NULL,
    "before" JSONB,
    "after" JSONB,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "cloud_resource_changes_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "cloud_resource_changes_org_id_resource_id_at_idx" ON "cloud_resource_changes"("org_id", "resource_id", "at");

CREATE TABLE "cloud_inventories" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "org_id" UUID NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 0,
    "next_tag_id" INTEGER NOT NULL DEFAULT 1,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    CONSTRAINT "cloud_inventories_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "cloud_inventories_org_id_key" ON "cloud_inventories"("org_id");

ALTER TABLE "cloud_resources" ADD CONSTRAINT "cloud_resources_org_id_fkey" FOREIGN KEY ("org_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "cloud_resources" ADD CONSTRAINT "cloud_resources_org_id_account_id_fkey" FOREIGN KEY ("org_id", "account_id") REFERENCES "cloud_accounts"("org_id", "id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "cloud_resource_changes" ADD CONSTRAINT "cloud_resource_changes_org_id_fkey" FOREIGN KEY ("org_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "cloud_resource_changes" ADD CONSTRAINT "cloud_resource_changes_org_id_resource_id_fkey" FOREIGN KEY ("org_id", "resource_id") REFERENCES "cloud_resources"("org_id", "id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "cloud_inventories" ADD CONSTRAINT "cloud_inventories_org_id_fkey" FOREIGN KEY ("org_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE CASCADE;
