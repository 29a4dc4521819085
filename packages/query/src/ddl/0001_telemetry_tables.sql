-- Raw telemetry rows, one table per row kind of @flowplane/query/rows (a test keeps the columns
-- in step). org_id leads every sort key; partitions are days; TTL is set by the migrator.

CREATE TABLE IF NOT EXISTS l4_flow_log
(
    org_id UUID,
    agent_id UUID,
    flow_id UInt64,
    report_seq UInt32 DEFAULT 0,
    is_final Bool DEFAULT close_type != 'forced_report',
    start_time DateTime64(6, 'UTC'),
    end_time DateTime64(6, 'UTC'),
    client_ip IPv6,
    client_port UInt16,
    server_ip IPv6,
    server_port UInt16,
    ip_protocol UInt8,
    vlan UInt16,
    tunnel_type LowCardinality(String),
    tunnel_id UInt32,
    tunnel_outer_src IPv6,
    tunnel_outer_dst IPv6,
    packets_c2s UInt64,
    packets_s2c UInt64,
    bytes_c2s UInt64,
    bytes_s2c UInt64,
    close_type LowCardinality(String),
    tcp_flags_c2s UInt16,
    tcp_flags_s2c UInt16,
    rtt_us UInt32,
    rtt_client_us UInt32,
    rtt_server_us UInt32,
    srt_us UInt32,
    syn_count UInt32,
    synack_count UInt32,
    retrans_c2s UInt32,
    retrans_s2c UInt32,
    zero_win_c2s UInt32,
    zero_win_s2c UInt32,
    out_of_order_c2s UInt32,
    out_of_order_s2c UInt32,
    l7_protocol LowCardinality(String),
    group_id UInt32 DEFAULT 0,
    client_resource_id UInt32 DEFAULT 0,
    server_resource_id UInt32 DEFAULT 0,
    INDEX idx_flow_id flow_id TYPE bloom_filter(0.01) GRANULARITY 4,
    INDEX idx_client_ip client_ip TYPE bloom_filter(0.01) GRANULARITY 4
)
ENGINE = MergeTree
PARTITION BY toYYYYMMDD(end_time)
ORDER BY (org_id, toStartOfHour(end_time), server_ip, server_port, end_time);

CREATE TABLE IF NOT EXISTS l7_flow_log
(
    org_id UUID,
    agent_id UUID,
    flow_id UInt64,
    start_time DateTime64(6, 'UTC'),
    end_time DateTime64(6, 'UTC'),
    client_ip IPv6,
    client_port UInt16,
    server_ip IPv6,
    server_port UInt16,
    ip_protocol UInt8 DEFAULT 6,
    l7_protocol LowCardinality(String),
    version String,
    request_type String,
    request_domain String,
    request_resource String,
    endpoint String,
    request_length UInt64,
    response_length UInt64,
    response_status LowCardinality(String),
    response_code Nullable(Int32),
    response_exception String,
    response_duration_us UInt64,
    trace_id String,
    span_id String,
    parent_span_id String,
    x_request_id String,
    req_tcp_seq UInt32,
    resp_tcp_seq UInt32,
    group_id UInt32 DEFAULT 0,
    client_resource_id UInt32 DEFAULT 0,
    server_resource_id UInt32 DEFAULT 0,
    INDEX idx_flow_id flow_id TYPE bloom_filter(0.01) GRANULARITY 4,
    INDEX idx_trace_id trace_id TYPE bloom_filter(0.01) GRANULARITY 4,
    INDEX idx_x_request_id x_request_id TYPE bloom_filter(0.01) GRANULARITY 4
)
ENGINE = MergeTree
PARTITION BY toYYYYMMDD(start_time)
ORDER BY (org_id, toStartOfHour(start_time), l7_protocol, server_ip, server_port, start_time);

CREATE TABLE IF NOT EXISTS network_metrics
(
    org_id UUID,
    agent_id UUID,
    time DateTime64(6, 'UTC'),
    client_ip IPv6,
    server_ip IPv6,
    server_port UInt16,
    ip_protocol UInt8,
    packets_c2s UInt64,
    packets_s2c UInt64,
    bytes_c2s UInt64,
    bytes_s2c UInt64,
    new_flows UInt32,
    closed_flows UInt32,
    rtt_sum_us UInt64,
    rtt_count UInt32,
    retrans_c2s UInt32,
    retrans_s2c UInt32,
    zero_win_c2s UInt32,
    zero_win_s2c UInt32,
    client_rst UInt32,
    server_rst UInt32,
    timeouts UInt32 DEFAULT 0,
    group_id UInt32 DEFAULT 0
)
ENGINE = MergeTree
PARTITION BY toYYYYMMDD(time)
ORDER BY (org_id, time, server_ip, server_port, client_ip);

CREATE TABLE IF NOT EXISTS application_metrics
(
    org_id UUID,
    agent_id UUID,
    time DateTime64(6, 'UTC'),
    server_ip IPv6,
    server_port UInt16,
    l7_protocol LowCardinality(String),
    endpoint String,
    requests UInt32,
    errors_client UInt32,
    errors_server UInt32,
    timeouts UInt32,
    duration_sum_us UInt64,
    duration_max_us UInt32,
    latency_buckets Array(UInt32),
    group_id UInt32 DEFAULT 0
)
ENGINE = MergeTree
PARTITION BY toYYYYMMDD(time)
ORDER BY (org_id, time, l7_protocol, server_ip, server_port, endpoint);
