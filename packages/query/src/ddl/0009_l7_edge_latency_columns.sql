-- The topology's L7 edge rollup with its latency histogram as 14 plain sums (lat_b0..lat_b13,
-- the buckets of LATENCY_BUCKET_BOUNDS_US: <= 1 ms, ..., <= 10 s, then the rest) instead of one
-- sumForEach state: merging 14 SimpleAggregateFunction(sum) columns costs far less CPU than
-- sumForEachMerge over array states, which was as costly as the rest of the 24 h topology query.
-- Same keys and figures as l7_edge_1h (0006), which it replaces.
--
-- Existing databases: the old view stops first, the new table is filled from the raw rows
-- (TRUNCATE first, so an interrupted and re-run migration does not count twice), then its view
-- starts and the old table goes. As in 0006, the migrator runs before ingest starts; rows written
-- by a concurrent ingest between the old view's drop and the new view's creation would be missed.

DROP VIEW IF EXISTS l7_edge_1h_mv;

-- errors: client_error, server_error and timeout responses (as the raw topology counts them).
CREATE TABLE IF NOT EXISTS l7_edge_lat_1h
(
    org_id UUID,
    time DateTime('UTC'),
    server_ip IPv6,
    server_port UInt16,
    client_ip IPv6,
    l7_protocol LowCardinality(String),
    agent_id UUID,
    group_id UInt32,
    client_resource_id UInt32,
    server_resource_id UInt32,
    requests SimpleAggregateFunction(sum, UInt64),
    errors SimpleAggregateFunction(sum, UInt64),
    duration_sum_us SimpleAggregateFunction(sum, UInt64),
    duration_max_us SimpleAggregateFunction(max, UInt64),
    lat_b0 SimpleAggregateFunction(sum, UInt64),
    lat_b1 SimpleAggregateFunction(sum, UInt64),
    lat_b2 SimpleAggregateFunction(sum, UInt64),
    lat_b3 SimpleAggregateFunction(sum, UInt64),
    lat_b4 SimpleAggregateFunction(sum, UInt64),
    lat_b5 SimpleAggregateFunction(sum, UInt64),
    lat_b6 SimpleAggregateFunction(sum, UInt64),
    lat_b7 SimpleAggregateFunction(sum, UInt64),
    lat_b8 SimpleAggregateFunction(sum, UInt64),
    lat_b9 SimpleAggregateFunction(sum, UInt64),
    lat_b10 SimpleAggregateFunction(sum, UInt64),
    lat_b11 SimpleAggregateFunction(sum, UInt64),
    lat_b12 SimpleAggregateFunction(sum, UInt64),
    lat_b13 SimpleAggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMMDD(time)
ORDER BY (org_id, time, server_ip, server_port, client_ip, l7_protocol, agent_id, group_id,
          client_resource_id, server_resource_id)
SETTINGS non_replicated_deduplication_window = 10000;

TRUNCATE TABLE l7_edge_lat_1h;

INSERT INTO l7_edge_lat_1h
SELECT
    org_id, toDateTime(toStartOfHour(start_time), 'UTC') AS time, server_ip, server_port, client_ip,
    l7_protocol, agent_id, group_id, client_resource_id, server_resource_id,
    count(), countIf(response_status IN ('client_error', 'server_error', 'timeout')),
    sum(response_duration_us), max(response_duration_us),
    countIf(response_duration_us <= 1000),
    countIf(response_duration_us > 1000 AND response_duration_us <= 2000),
    countIf(response_duration_us > 2000 AND response_duration_us <= 5000),
    countIf(response_duration_us > 5000 AND response_duration_us <= 10000),
    countIf(response_duration_us > 10000 AND response_duration_us <= 20000),
    countIf(response_duration_us > 20000 AND response_duration_us <= 50000),
    countIf(response_duration_us > 50000 AND response_duration_us <= 100000),
    countIf(response_duration_us > 100000 AND response_duration_us <= 200000),
    countIf(response_duration_us > 200000 AND response_duration_us <= 500000),
    countIf(response_duration_us > 500000 AND response_duration_us <= 1000000),
    countIf(response_duration_us > 1000000 AND response_duration_us <= 2000000),
    countIf(response_duration_us > 2000000 AND response_duration_us <= 5000000),
    countIf(response_duration_us > 5000000 AND response_duration_us <= 10000000),
    countIf(response_duration_us > 10000000)
FROM l7_flow_log
GROUP BY org_id, time, server_ip, server_port, client_ip, l7_protocol, agent_id, group_id,
    client_resource_id, server_resource_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS l7_edge_lat_1h_mv TO l7_edge_lat_1h AS
SELECT
    org_id,
    toDateTime(toStartOfHour(start_time), 'UTC') AS time,
    server_ip,
    server_port,
    client_ip,
    l7_protocol,
    agent_id,
    group_id,
    client_resource_id,
    server_resource_id,
    count() AS requests,
    countIf(response_status IN ('client_error', 'server_error', 'timeout')) AS errors,
    sum(response_duration_us) AS duration_sum_us,
    max(response_duration_us) AS duration_max_us,
    countIf(response_duration_us <= 1000) AS lat_b0,
    countIf(response_duration_us > 1000 AND response_duration_us <= 2000) AS lat_b1,
    countIf(response_duration_us > 2000 AND response_duration_us <= 5000) AS lat_b2,
    countIf(response_duration_us > 5000 AND response_duration_us <= 10000) AS lat_b3,
    countIf(response_duration_us > 10000 AND response_duration_us <= 20000) AS lat_b4,
    countIf(response_duration_us > 20000 AND response_duration_us <= 50000) AS lat_b5,
    countIf(response_duration_us > 50000 AND response_duration_us <= 100000) AS lat_b6,
    countIf(response_duration_us > 100000 AND response_duration_us <= 200000) AS lat_b7,
    countIf(response_duration_us > 200000 AND response_duration_us <= 500000) AS lat_b8,
    countIf(response_duration_us > 500000 AND response_duration_us <= 1000000) AS lat_b9,
    countIf(response_duration_us > 1000000 AND response_duration_us <= 2000000) AS lat_b10,
    countIf(response_duration_us > 2000000 AND response_duration_us <= 5000000) AS lat_b11,
    countIf(response_duration_us > 5000000 AND response_duration_us <= 10000000) AS lat_b12,
    countIf(response_duration_us > 10000000) AS lat_b13
FROM l7_flow_log
GROUP BY org_id, time, server_ip, server_port, client_ip, l7_protocol, agent_id, group_id,
    client_resource_id, server_resource_id;

DROP TABLE IF EXISTS l7_edge_1h;
