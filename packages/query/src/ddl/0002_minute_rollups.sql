-- Per-minute rollups, filled by materialized views on insert into the per-second tables.
-- Columns are SimpleAggregateFunction / AggregateFunction: read them with sum(), max() and
-- sumForEachMerge() grouped by the key, never as plain values (merges are eventual).

CREATE TABLE IF NOT EXISTS network_metrics_1m
(
    org_id UUID,
    agent_id UUID,
    time DateTime('UTC'),
    client_ip IPv6,
    server_ip IPv6,
    server_port UInt16,
    ip_protocol UInt8,
    group_id UInt32,
    packets_c2s SimpleAggregateFunction(sum, UInt64),
    packets_s2c SimpleAggregateFunction(sum, UInt64),
    bytes_c2s SimpleAggregateFunction(sum, UInt64),
    bytes_s2c SimpleAggregateFunction(sum, UInt64),
    new_flows SimpleAggregateFunction(sum, UInt64),
    closed_flows SimpleAggregateFunction(sum, UInt64),
    rtt_sum_us SimpleAggregateFunction(sum, UInt64),
    rtt_count SimpleAggregateFunction(sum, UInt64),
    retrans_c2s SimpleAggregateFunction(sum, UInt64),
    retrans_s2c SimpleAggregateFunction(sum, UInt64),
    zero_win_c2s SimpleAggregateFunction(sum, UInt64),
    zero_win_s2c SimpleAggregateFunction(sum, UInt64),
    client_rst SimpleAggregateFunction(sum, UInt64),
    server_rst SimpleAggregateFunction(sum, UInt64),
    timeouts SimpleAggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMMDD(time)
ORDER BY (org_id, time, server_ip, server_port, client_ip, ip_protocol, agent_id, group_id);

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

CREATE TABLE IF NOT EXISTS application_metrics_1m
(
    org_id UUID,
    agent_id UUID,
    time DateTime('UTC'),
    server_ip IPv6,
    server_port UInt16,
    l7_protocol LowCardinality(String),
    endpoint String,
    group_id UInt32,
    requests SimpleAggregateFunction(sum, UInt64),
    errors_client SimpleAggregateFunction(sum, UInt64),
    errors_server SimpleAggregateFunction(sum, UInt64),
    timeouts SimpleAggregateFunction(sum, UInt64),
    duration_sum_us SimpleAggregateFunction(sum, UInt64),
    duration_max_us SimpleAggregateFunction(max, UInt32),
    latency_buckets AggregateFunction(sumForEach, Array(UInt32))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMMDD(time)
ORDER BY (org_id, time, l7_protocol, server_ip, server_port, endpoint, agent_id, group_id);

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
    sum(toUInt64(requests)) AS requests,
    sum(toUInt64(errors_client)) AS errors_client,
    sum(toUInt64(errors_server)) AS errors_server,
    sum(toUInt64(timeouts)) AS timeouts,
    sum(duration_sum_us) AS duration_sum_us,
    max(duration_max_us) AS duration_max_us,
    sumForEachState(latency_buckets) AS latency_buckets
FROM application_metrics
GROUP BY org_id, agent_id, time, server_ip, server_port, l7_protocol, endpoint, group_id;
