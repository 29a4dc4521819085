-- Agent health history (issue 6): the controller's record-agent-health job copies each agent's
-- last heartbeat (state and self-statistics, issue 5) here every tick, so the console can chart
-- CPU, memory, packets/s, drops and state over time. `time` is the heartbeat's own time, so a
-- heartbeat sampled twice (an agent that went silent) is one row after merges; readers aggregate
-- per step anyway. org_id leads the key: every read is one org's range. Kept 30 days.

CREATE TABLE IF NOT EXISTS agent_health
(
    org_id UUID,
    agent_id UUID,
    time DateTime64(3, 'UTC'),
    state LowCardinality(String),
    protective UInt8 DEFAULT 0,
    cpu_pct Float32 DEFAULT 0,
    mem_bytes UInt64 DEFAULT 0,
    packets_per_s Float64 DEFAULT 0,
    bytes_per_s Float64 DEFAULT 0,
    drops UInt64 DEFAULT 0,
    flows UInt64 DEFAULT 0,
    spool_bytes UInt64 DEFAULT 0,
    version LowCardinality(String) DEFAULT ''
)
ENGINE = ReplacingMergeTree
ORDER BY (org_id, agent_id, time)
TTL toDateTime(time) + toIntervalDay(30);
