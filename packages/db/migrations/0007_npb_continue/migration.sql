-- Packet broker (issue 8): a policy with continue_matching lets lower-priority policies fire for
-- the same packet too (one copy to the IDS and one to the APM tool); default: first match wins.
ALTER TABLE "packet_broker_policies" ADD COLUMN "continue_matching" BOOLEAN NOT NULL DEFAULT false;
