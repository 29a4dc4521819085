-- Hourly rollups (issue 7: 24 h pages under 300 ms). Two kinds:
--  * network_metrics_1h / application_metrics_1h: the per-minute rollups' keys per hour, for TCP
--    and RED metrics over long ranges (a day is 24 rows per key instead of 1 440).
--  * l4_edge_1h / l7_edge_1h: the topology's edges per hour, built from the flow logs themselves
--    (not from the metrics), keyed by what the service map groups and filters on (client IP,
--    server IP and port, protocol, agent, group, both resource tags) without client ports, so the
--    rollup gives the same figures as the raw flow logs over whole hours.
-- Read them like the 1m rollups: sum()/max()/sumForEachMerge() grouped by the key.
--
-- Existing databases: each table is filled from the raw rows already stored before its view is
-- created (TRUNCATE first, so a migration interrupted and re-run does not count twice). The
-- migrator runs before ingest starts (scripts/start-product.ts); rows written by a concurrent
-- ingest between a backfill and its view's creation would be missed by the rollup.
-- Latency buckets: upper bounds 1, 2, 5, 10, 20, 50, 100, 200, 500 ms, 1, 2, 5, 10 s, then the
-- rest (LATENCY_BUCKET_BOUNDS_US in rows/application-metrics.ts; a test checks they agree).

CREATE TABLE IF NOT EXISTS network_metrics_1h AS network_metrics_1m;

TRUNCATE TABLE network_metrics_1h;

INSERT INTO network_metrics_1h
SELECT
    org_id, agent_id, toDateTime(toStartOfHour(time), 'UTC') AS time, client_ip, server_ip, server_port,
    ip_protocol, group_id,
    sum(packets_c2s), sum(packets_s2c), sum(bytes_c2s), sum(bytes_s2c), sum(toUInt64(new_flows)),
    sum(toUInt64(closed_flows)), sum(rtt_sum_us), sum(toUInt64(rtt_count)), sum(toUInt64(retrans_c2s)),
    sum(toUInt64(retrans_s2c)), sum(toUInt64(zero_win_c2s)), sum(toUInt64(zero_win_s2c)),
    sum(toUInt64(client_rst)), sum(toUInt64(server_rst)), sum(toUInt64(timeouts))
FROM network_metrics
GROUP BY org_id, agent_id, time, client_ip, server_ip, server_port, ip_protocol, group_id;

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
GROUP BY org_id, agent_id, time, client_ip, server_ip, server_port, ip_protocol, group_id;

CREATE TABLE IF NOT EXISTS application_metrics_1h AS application_metrics_1m;

TRUNCATE TABLE application_metrics_1h;

INSERT INTO application_metrics_1h
SELECT
    org_id, agent_id, toDateTime(toStartOfHour(time), 'UTC') AS time, server_ip, server_port, l7_protocol,
    endpoint, group_id,
    sum(toUInt64(requests)), sum(toUInt64(errors_client)), sum(toUInt64(errors_server)), sum(toUInt64(timeouts)),
    sum(duration_sum_us), max(duration_max_us), sumForEachState(latency_buckets)
FROM application_metrics
GROUP BY org_id, agent_id, time, server_ip, server_port, l7_protocol, endpoint, group_id;

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
    sum(toUInt64(requests)) AS requests,
    sum(toUInt64(errors_client)) AS errors_client,
    sum(toUInt64(errors_server)) AS errors_server,
    sum(toUInt64(timeouts)) AS timeouts,
    sum(duration_sum_us) AS duration_sum_us,
    max(duration_max_us) AS duration_max_us,
    sumForEachState(latency_buckets) AS latency_buckets
FROM application_metrics
GROUP BY org_id, agent_id, time, server_ip, server_port, l7_protocol, endpoint, group_id;

-- flows: first reports (report_seq 0), i.e. flows opened in the hour, so hours add up.
CREATE TABLE IF NOT EXISTS l4_edge_1h
(
    org_id UUID,
    time DateTime('UTC'),
    server_ip IPv6,
    server_port UInt16,
    client_ip IPv6,
    ip_protocol UInt8,
    l7_protocol LowCardinality(String),
    agent_id UUID,
    group_id UInt32,
    client_resource_id UInt32,
    server_resource_id UInt32,
    bytes SimpleAggregateFunction(sum, UInt64),
    packets SimpleAggregateFunction(sum, UInt64),
    retrans SimpleAggregateFunction(sum, UInt64),
    flows SimpleAggregateFunction(sum, UInt64),
    reports SimpleAggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMMDD(time)
ORDER BY (org_id, time, server_ip, server_port, client_ip, ip_protocol, l7_protocol, agent_id, group_id,
          client_resource_id, server_resource_id);

TRUNCATE TABLE l4_edge_1h;

INSERT INTO l4_edge_1h
SELECT
    org_id, toDateTime(toStartOfHour(end_time), 'UTC') AS time, server_ip, server_port, client_ip, ip_protocol,
    l7_protocol, agent_id, group_id, client_resource_id, server_resource_id,
    sum(bytes_c2s + bytes_s2c), sum(packets_c2s + packets_s2c), sum(toUInt64(retrans_c2s + retrans_s2c)),
    countIf(report_seq = 0), count()
FROM l4_flow_log
GROUP BY org_id, time, server_ip, server_port, client_ip, ip_protocol, l7_protocol, agent_id, group_id,
    client_resource_id, server_resource_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS l4_edge_1h_mv TO l4_edge_1h AS
SELECT
    org_id,
    toDateTime(toStartOfHour(end_time), 'UTC') AS time,
    server_ip,
    server_port,
    client_ip,
    ip_protocol,
    l7_protocol,
    agent_id,
    group_id,
    client_resource_id,
    server_resource_id,
    sum(bytes_c2s + bytes_s2c) AS bytes,
    sum(packets_c2s + packets_s2c) AS packets,
    sum(toUInt64(retrans_c2s + retrans_s2c)) AS retrans,
    countIf(report_seq = 0) AS flows,
    count() AS reports
FROM l4_flow_log
GROUP BY org_id, time, server_ip, server_port, client_ip, ip_protocol, l7_protocol, agent_id, group_id,
    client_resource_id, server_resource_id;

-- errors: client_error, server_error and timeout responses (as the raw topology counts them).
CREATE TABLE IF NOT EXISTS l7_edge_1h
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
    latency_buckets AggregateFunction(sumForEach, Array(UInt64))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMMDD(time)
ORDER BY (org_id, time, server_ip, server_port, client_ip, l7_protocol, agent_id, group_id,
          client_resource_id, server_resource_id);

TRUNCATE TABLE l7_edge_1h;

INSERT INTO l7_edge_1h
SELECT
    org_id, toDateTime(toStartOfHour(start_time), 'UTC') AS time, server_ip, server_port, client_ip,
    l7_protocol, agent_id, group_id, client_resource_id, server_resource_id,
    count(), countIf(response_status IN ('client_error', 'server_error', 'timeout')),
    sum(response_duration_us), max(response_duration_us),
    initializeAggregation('sumForEachState', [
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
        countIf(response_duration_us > 10000000)])
FROM l7_flow_log
GROUP BY org_id, time, server_ip, server_port, client_ip, l7_protocol, agent_id, group_id,
    client_resource_id, server_resource_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS l7_edge_1h_mv TO l7_edge_1h AS
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
    initializeAggregation('sumForEachState', [
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
        countIf(response_duration_us > 10000000)]) AS latency_buckets
FROM l7_flow_log
GROUP BY org_id, time, server_ip, server_port, client_ip, l7_protocol, agent_id, group_id,
    client_resource_id, server_resource_id;
