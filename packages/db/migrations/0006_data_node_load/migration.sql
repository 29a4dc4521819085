-- Data-node load as the balancer measured it (issue 6, console "Data nodes" page): the
-- rebalance job writes each live node's stored rows/s (sum over its agents, last full minute)
-- and when, so the console shows the balancer's own numbers without reading Redis.
ALTER TABLE "data_nodes" ADD COLUMN "observed_rows_per_s" DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE "data_nodes" ADD COLUMN "load_measured_at" TIMESTAMPTZ(3);
