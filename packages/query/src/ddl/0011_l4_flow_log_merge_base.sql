-- Fewer merges of the flow log under sustained ingest (issue 5): the ingest coalescer writes
-- l4_flow_log in 20-40 k-row inserts, a part each, and with the default merge_selector_base (5)
-- the engine rewrote every row 1.8 times merging them (1 M rows in 25 k-row inserts). At 10 it
-- waits for about twice as many parts of a size before merging them, so rows are rewritten fewer
-- times: insert + merge CPU until quiescent + a final OPTIMIZE (so merges only put off are
-- counted) 0.53-0.64 against 0.61-0.78 CPU s per 100 k rows, lower in each of 4 alternated pairs
-- (apps/controller/src/store/bench-insert.ts, docs/notes/ingest-store-session6.md). The cost is
-- more fresh parts per partition (12 against 3 after 1 M rows); reads of the flow log (a flow by
-- id, top talkers) were not measurably slower. Only the flow log: on the l4_edge_1h rollup the
-- same setting saved as much but its edges read took 20 % longer over 12 parts, and the other
-- tables were not measured. The engine still merges old parts with a lowered base as they age.
-- Re-run safe: the same value again is a no-op.

ALTER TABLE l4_flow_log MODIFY SETTING merge_selector_base = 10;
