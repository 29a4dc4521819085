-- Staged configuration rollout (issue 5): a group's new revision goes to a canary share of its
-- agents first; the rest keep the stable revision until the canaries stay healthy for the hold
-- time. 100 % canary (the default) is an immediate rollout, as before.
CREATE TYPE "rollout_state" AS ENUM ('idle', 'canary', 'halted');

ALTER TABLE "agent_groups" ADD COLUMN "canary_percent" INTEGER NOT NULL DEFAULT 100;
ALTER TABLE "agent_groups" ADD COLUMN "canary_hold_s" INTEGER NOT NULL DEFAULT 300;
ALTER TABLE "agent_groups" ADD COLUMN "stable_revision" INTEGER NOT NULL DEFAULT 0;
ALTER TABLE "agent_groups" ADD COLUMN "rollout_revision" INTEGER NOT NULL DEFAULT 0;
ALTER TABLE "agent_groups" ADD COLUMN "rollout_state" "rollout_state" NOT NULL DEFAULT 'idle';
ALTER TABLE "agent_groups" ADD COLUMN "rollout_started_at" TIMESTAMPTZ(3);
ALTER TABLE "agent_groups" ADD COLUMN "rollout_message" TEXT;
-- Existing groups are fully rolled out at their current revision.
UPDATE "agent_groups" SET "stable_revision" = "current_revision", "rollout_revision" = "current_revision";
