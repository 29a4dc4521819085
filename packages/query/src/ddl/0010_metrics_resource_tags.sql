-- AutoTagging for metrics (issue 9): network_metrics and application_metrics carry resource ids
-- like the flow logs (UInt32, SmartEncoding: names and coarser levels are joined at query time, so
-- a rename reaches old rows), and their per-minute and hourly rollups keep them as keys, so RED and
-- TCP metrics filter and group by any tag on every tier.
--
-- network_metrics has a client and a server side; application_metrics is aggregated over clients by
-- the agent (no client_ip), so it has server_resource_id only: a client column would always be 0.
--
-- Rollup keys: both ids are appended to the sort key (the AggregatingMergeTree's grouping key), so
-- group-by tag works on rolled-up rows. Cardinality: an id is what the tagger resolved from the
-- row's IP in the agent's VPC context, and the keys already hold client_ip, server_ip and agent_id,
-- so for one dictionary version the ids add no key: a minute or hour gets a second row for an
-- address only when the resource model reassigned that address within it. Keying by id instead of
-- IP would shrink the rollups, but the metrics pages still filter and group by address and port.
--
-- Raw tables: ZSTD(1) as for the flow logs (0004: the client id is near random against the sort
-- key and defeats LZ4). Rollup tables: the ids follow the IP columns before them in the key, so
-- runs are long and the default codec is enough. Rollup columns have no DEFAULT: ClickHouse adds a
-- column to a sort key only in the same ALTER that creates it, without a default expression;
-- existing parts read 0 (untagged), which is what their raw rows hold too (no backfill needed).
--
-- Existing databases: the views are dropped and re-created with the new columns (the migrator runs
-- before ingest starts, as for 0006 and 0009; rows inserted between a drop and a create would miss
-- that rollup). Every statement is re-run safe: IF NOT EXISTS, and the same sort key again is a no-op.

ALTER TABLE network_metrics
    ADD COLUMN IF NOT EXISTS client_resource_id UInt32 DEFAULT 0 CODEC(ZSTD(1)),
    ADD COLUMN IF NOT EXISTS server_resource_id UInt32 DEFAULT 0 CODEC(ZSTD(1));

ALTER TABLE application_metrics
    ADD COLUMN IF NOT EXISTS server_resource_id UInt32 DEFAULT 0 CODEC(ZSTD(1));

ALTER TABLE network_metrics_1m
    ADD COLUMN IF NOT EXISTS client_resource_id UInt32 AFTER group_id,
    ADD COLUMN IF NOT EXISTS server_resource_id UInt32 AFTER client_resource_id,
    MODIFY ORDER BY (org_id, time, server_ip, server_port, client_ip, ip_protocol, agent_id, group_id,
        client_resource_id, server_resource_id);

ALTER TABLE network_metrics_1h
    ADD COLUMN IF NOT EXISTS client_resource_id UInt32 AFTER group_id,
    ADD COLUMN IF NOT EXISTS server_resource_id UInt32 AFTER client_resource_id,
    MODIFY ORDER BY (org_id, time, server_ip, server_port, client_ip, ip_protocol, agent_id, group_id,
        client_resource_id, server_resource_id);

ALTER TABLE application_metrics_1m
    ADD COLUMN IF NOT EXISTS server_resource_id UInt32 AFTER group_id,
    MODIFY ORDER BY (org_id, time, l7_protocol, server_ip, server_port, endpoint, agent_id, group_id,
        server_resource_id);

ALTER TABLE application_metrics_1h
    ADD COLUMN IF NOT EXISTS server_resource_id UInt32 AFTER group_id,
    MODIFY ORDER BY (org_id, time, l7_protocol, server_ip, server_port, endpoint, agent_id, group_id,
        server_resource_id);

DROP VIEW IF EXISTS network_metrics_1m_mv;

CREATE MATERIALIZED VIEW IF NOT EXISTS network_metrics_1m_mv TO network_metrics_1m AS
SELECT
    org_id,
    agent_id,
    toDateTime(toStartOfMinute(time), 'UTC') AS time,
    client_ip,
    server_ip,
    server_port,
    ip_protocol,
    group_id,
    client_resource_id,
    server_resource_id,
    sum(packets_c2s) AS packets_c2s,
    sum(packets_s2c) AS packets_s2c,
    sum(bytes_c2s) AS bytes_c2s,
    sum(bytes_s2c) AS bytes_s2c,
    sum(toUInt64(new_flows)) AS new_flows,
    sum(toUInt64(closed_flows)) AS closed_flows,
    sum(rtt_sum_us) AS rtt_sum_us,
    sum(toUInt64(rtt_count)) AS rtt_count,
    sum(toUInt64(retrans_c2s)) AS retrans_c2s,
    sum(toUInt64(retrans_s2c)) AS retrans_s2c,
    sum(toUInt64(zero_win_c2s)) AS zero_win_c2s,
    sum(toUInt64(zero_win_s2c)) AS zero_win_s2c,
    sum(toUInt64(client_rst)) AS client_rst,
    sum(toUInt64(server_rst)) AS server_rst,
    sum(toUInt64(timeouts)) AS timeouts
FROM network_metrics
GROUP BY org_id, agent_id, time, client_ip, server_ip, server_port, ip_protocol, group_id,
    client_resource_id, server_resource_id;

DROP VIEW IF EXISTS network_metrics_1h_mv;

CREATE MATERIALIZED VIEW IF NOT EXISTS network_metrics_1h_mv TO network_metrics_1h AS
SELECT
    org_id,
    agent_id,
    toDateTime(toStartOfHour(time), 'UTC') AS time,
    client_ip,
    server_ip,
    server_port,
    ip_protocol,
    group_id,
    client_resource_id,
    server_resource_id,
    sum(packets_c2s) AS packets_c2s,
    sum(packets_s2c) AS packets_s2c,
    sum(bytes_c2s) AS bytes_c2s,
    sum(bytes_s2c) AS bytes_s2c,
    sum(toUInt64(new_flows)) AS new_flows,
    sum(toUInt64(closed_flows)) AS closed_flows,
    sum(rtt_sum_us) AS rtt_sum_us,
    sum(toUInt64(rtt_count)) AS rtt_count,
    sum(toUInt64(retrans_c2s)) AS retrans_c2s,
    sum(toUInt64(retrans_s2c)) AS retrans_s2c,
    sum(toUInt64(zero_win_c2s)) AS zero_win_c2s,
    sum(toUInt64(zero_win_s2c)) AS zero_win_s2c,
    sum(toUInt64(client_rst)) AS client_rst,
    sum(toUInt64(server_rst)) AS server_rst,
    sum(toUInt64(timeouts)) AS timeouts
FROM network_metrics
GROUP BY org_id, agent_id, time, client_ip, server_ip, server_port, ip_protocol, group_id,
    client_resource_id, server_resource_id;

DROP VIEW IF EXISTS application_metrics_1m_mv;

CREATE MATERIALIZED VIEW IF NOT EXISTS application_metrics_1m_mv TO application_metrics_1m AS
SELECT
    org_id,
    agent_id,
    toDateTime(toStartOfMinute(time), 'UTC') AS time,
    server_ip,
    server_port,
    l7_protocol,
    endpoint,
    group_id,
    server_resource_id,
    sum(toUInt64(requests)) AS requests,
    sum(toUInt64(errors_client)) AS errors_client,
    sum(toUInt64(errors_server)) AS errors_server,
    sum(toUInt64(timeouts)) AS timeouts,
    sum(duration_sum_us) AS duration_sum_us,
    max(duration_max_us) AS duration_max_us,
    sumForEachState(latency_buckets) AS latency_buckets
FROM application_metrics
GROUP BY org_id, agent_id, time, server_ip, server_port, l7_protocol, endpoint, group_id, server_resource_id;

DROP VIEW IF EXISTS application_metrics_1h_mv;

CREATE MATERIALIZED VIEW IF NOT EXISTS application_metrics_1h_mv TO application_metrics_1h AS
SELECT
    org_id,
    agent_id,
    toDateTime(toStartOfHour(time), 'UTC') AS time,
    server_ip,
    server_port,
    l7_protocol,
    endpoint,
    group_id,
    server_resource_id,
    sum(toUInt64(requests)) AS requests,
    sum(toUInt64(errors_client)) AS errors_client,
    sum(toUInt64(errors_server)) AS errors_server,
    sum(toUInt64(timeouts)) AS timeouts,
    sum(duration_sum_us) AS duration_sum_us,
    max(duration_max_us) AS duration_max_us,
    sumForEachState(latency_buckets) AS latency_buckets
FROM application_metrics
GROUP BY org_id, agent_id, time, server_ip, server_port, l7_protocol, endpoint, group_id, server_resource_id;
