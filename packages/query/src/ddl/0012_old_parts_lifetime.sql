-- Keep merged-away parts 480 s before deleting them, as a ClickHouse server does by default; chDB
-- ships old_parts_lifetime = 0. The server keeps them because a part a merge just wrote is not
-- fsynced (fsync_after_insert and fsync_part_directory are off): after a sudden restart the
-- engine falls back to the old parts instead of losing the rows. Deleting them at once also made
-- every insert slower on a file system without a journal: the files a merge had just freed
-- are skipped one by one when the next part's files are created (ext4's recently_deleted scan,
-- docs/notes/ingest-store-session6.md). On a ClickHouse server this changes nothing.
-- Re-run safe: the same value again is a no-op.

ALTER TABLE l4_flow_log MODIFY SETTING old_parts_lifetime = 480;

ALTER TABLE l7_flow_log MODIFY SETTING old_parts_lifetime = 480;

ALTER TABLE network_metrics MODIFY SETTING old_parts_lifetime = 480;

ALTER TABLE application_metrics MODIFY SETTING old_parts_lifetime = 480;

ALTER TABLE network_metrics_1m MODIFY SETTING old_parts_lifetime = 480;

ALTER TABLE application_metrics_1m MODIFY SETTING old_parts_lifetime = 480;

ALTER TABLE network_metrics_1h MODIFY SETTING old_parts_lifetime = 480;

ALTER TABLE application_metrics_1h MODIFY SETTING old_parts_lifetime = 480;

ALTER TABLE l4_edge_1h MODIFY SETTING old_parts_lifetime = 480;

ALTER TABLE l7_edge_lat_1h MODIFY SETTING old_parts_lifetime = 480;

ALTER TABLE agent_health MODIFY SETTING old_parts_lifetime = 480;

ALTER TABLE npb_policy_counters MODIFY SETTING old_parts_lifetime = 480;

ALTER TABLE resource_tags MODIFY SETTING old_parts_lifetime = 480;

ALTER TABLE tag_dict MODIFY SETTING old_parts_lifetime = 480;
