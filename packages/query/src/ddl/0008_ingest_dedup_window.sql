-- Exactly-once ingest across a data node dying mid-insert: ingest sends each batch with
-- insert_deduplication_token = org/batch id, and a non-replicated MergeTree honours tokens only
-- with a deduplication window (the tokens of the last N inserted blocks are kept). A retried batch
-- whose first insert landed is then dropped by the engine. The rollups fed by materialized views
-- need the window too: the engine pushes a deduplicated block to the views all the same, and each
-- view's target drops it by a token derived from the insert's (with
-- deduplicate_blocks_in_dependent_materialized_views, which recordRows sets). 10 000 blocks covers
-- minutes of inserts on a busy node; the ingest ledger (Redis) answers replays older than that.
-- recordRows gives inserts without a batch a random token, so identical rows written twice stay two.

ALTER TABLE l4_flow_log MODIFY SETTING non_replicated_deduplication_window = 10000;

ALTER TABLE l7_flow_log MODIFY SETTING non_replicated_deduplication_window = 10000;

ALTER TABLE network_metrics MODIFY SETTING non_replicated_deduplication_window = 10000;

ALTER TABLE application_metrics MODIFY SETTING non_replicated_deduplication_window = 10000;

ALTER TABLE network_metrics_1m MODIFY SETTING non_replicated_deduplication_window = 10000;

ALTER TABLE application_metrics_1m MODIFY SETTING non_replicated_deduplication_window = 10000;

ALTER TABLE network_metrics_1h MODIFY SETTING non_replicated_deduplication_window = 10000;

ALTER TABLE application_metrics_1h MODIFY SETTING non_replicated_deduplication_window = 10000;

ALTER TABLE l4_edge_1h MODIFY SETTING non_replicated_deduplication_window = 10000;

ALTER TABLE l7_edge_1h MODIFY SETTING non_replicated_deduplication_window = 10000;
