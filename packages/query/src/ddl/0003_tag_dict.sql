-- SmartEncoding: rows store integer tag ids; names live here and are joined at query time, so a
-- rename shows on old rows. The latest updated_at wins (read with argMax, merges are eventual).

CREATE TABLE IF NOT EXISTS tag_dict
(
    org_id UUID,
    tag_kind LowCardinality(String),
    id UInt32,
    name String,
    updated_at DateTime64(6, 'UTC') DEFAULT now64(6)
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (org_id, tag_kind, id);
