import type { z } from "zod";
import { ip, optional, text, timeUs, token, u16, u32, u32Array, u64, uuid } from "./columns.ts";
import { defineRow } from "./table.ts";

/**
 * Upper bounds (inclusive, µs) of the latency histogram buckets; one more bucket holds everything
 * above the last bound. Fixed so that histograms of any rows and any rollup add up bucket-wise.
 */
export const LATENCY_BUCKET_BOUNDS_US = [
  1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000, 1_000_000, 2_000_000, 5_000_000,
  10_000_000,
] as const;
export const LATENCY_BUCKETS = LATENCY_BUCKET_BOUNDS_US.length + 1;

/** Bucket index of a duration, for agents filling `latency_buckets`. */
export function latencyBucketOf(durationUs: number): number {
  for (let i = 0; i < LATENCY_BUCKET_BOUNDS_US.length; i++) {
    if (durationUs <= (LATENCY_BUCKET_BOUNDS_US[i] as number)) return i;
  }
  return LATENCY_BUCKET_BOUNDS_US.length;
}

/**
 * Per-second RED metrics per (org, agent, second, server, server port, L7 protocol, endpoint).
 * `application_metrics_1m` is built from it by a materialized view.
 */
export const ApplicationMetrics = defineRow("application_metrics", "time", {
  org_id: uuid(),
  agent_id: uuid(),
  time: timeUs(),
  server_ip: ip(),
  server_port: u16(),
  l7_protocol: token(),
  endpoint: text(1024),
  requests: u32(),
  errors_client: u32(),
  errors_server: u32(),
  timeouts: u32(),
  duration_sum_us: u64(),
  duration_max_us: u32(),
  latency_buckets: u32Array(LATENCY_BUCKETS),
  group_id: optional(u32(), "0"),
  // AutoTagging (DDL 0010): set at ingest from server_ip (these rows are summed over clients).
  server_resource_id: optional(u32(), "0"),
});

export const ZApplicationMetricsRow = ApplicationMetrics.schema;
export type TApplicationMetricsRow = z.output<typeof ZApplicationMetricsRow>;
export type TApplicationMetricsRowInput = z.input<typeof ZApplicationMetricsRow>;
