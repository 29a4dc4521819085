/**
 * Plain constants of the row definitions, free of zod: the agent's packet workers import this
 * file alone so their bundle stays small.
 */

/** Summed counters of network metrics (what the per-minute rollup keeps), in column order. */
export const NETWORK_METRIC_COUNTERS = [
  "packets_c2s",
  "packets_s2c",
  "bytes_c2s",
  "bytes_s2c",
  "new_flows",
  "closed_flows",
  "rtt_sum_us",
  "rtt_count",
  "retrans_c2s",
  "retrans_s2c",
  "zero_win_c2s",
  "zero_win_s2c",
  "client_rst",
  "server_rst",
  "timeouts",
] as const;
