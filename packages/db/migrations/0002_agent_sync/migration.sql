-- Agent sync (issue 5): when the current credential was issued (rotation policy) and the outcome
-- of the last configuration revision the agent tried (applied_revision stays its last good one).
ALTER TABLE "agents" ADD COLUMN "credential_issued_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP;
ALTER TABLE "agents" ADD COLUMN "os" TEXT;
ALTER TABLE "agents" ADD COLUMN "last_config_revision" INTEGER;
ALTER TABLE "agents" ADD COLUMN "last_config_ok" BOOLEAN;
ALTER TABLE "agents" ADD COLUMN "last_config_error" TEXT;
ALTER TABLE "agents" ADD COLUMN "last_config_at" TIMESTAMPTZ(3);
