-- Agents gone offline for long (issue 6): the console hides them after a while, then the
-- controller's archive job sets archived_at (with an audit row) instead of deleting anything.
-- An archived agent that syncs again is restored by the same job.
ALTER TABLE "agents" ADD COLUMN "archived_at" TIMESTAMPTZ(3);
CREATE INDEX "agents_org_id_archived_at_idx" ON "agents"("org_id", "archived_at");
