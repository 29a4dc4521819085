-- Packet broker (issue 8): per-policy counters each agent reports in its heartbeat, as deltas
-- since its last accepted report. The controller writes one row per (agent, policy) per sync,
-- stamped with the minute it arrived; SummingMergeTree folds a minute's rows together on merge,
-- and readers sum() anyway (merges are eventual). org_id leads the key: every read is one org's
-- policies over a range. Kept 30 days.

CREATE TABLE IF NOT EXISTS npb_policy_counters
(
    org_id UUID,
    policy_id UUID,
    agent_id UUID,
    time DateTime('UTC'),
    matched UInt64,
    sent UInt64,
    bytes UInt64,
    truncated UInt64,
    deduplicated UInt64,
    not_designated UInt64,
    dropped_by_cap UInt64,
    encap_errors UInt64
)
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(time)
ORDER BY (org_id, policy_id, time, agent_id)
TTL time + toIntervalDay(30);
