import {
  applicationMetricsSeries,
  networkMetricsSeries,
  RED_GROUPS,
  redMetrics,
  splitMetricsFilters,
  tcpMetrics,
} from "@flowplane/query";
import { z } from "zod";
import { orgProcedure } from "../../trpc/procedures.ts";
import { analysisClickhouse, asBadRequest, filtersInput, rangeInput } from "./shared.ts";

const redRow = z.object({
  service: z.string(),
  l7_protocol: z.string(),
  endpoint: z.string(),
  requests: z.number(),
  rate: z.number(),
  errors: z.number(),
  errorPct: z.number(),
  avgUs: z.number(),
  p95Us: z.number(),
  p99Us: z.number(),
  maxUs: z.number(),
  apdex: z.number(),
});
const tcpRow = z.object({
  service: z.string(),
  bytes: z.number(),
  flows: z.number(),
  rttAvgUs: z.number(),
  retrans: z.number(),
  zeroWin: z.number(),
  resets: z.number(),
  timeouts: z.number(),
});
const point = z.object({ time: z.number(), values: z.record(z.string(), z.number()) });

/**
 * RED per service, endpoint or server tag, Apdex, TCP health per server or server tag, and the
 * series behind the charts. One filter list: each filter goes to the tables holding its column
 * (client-side ones to TCP only: RED rows are summed over clients); `redSkips`/`tcpSkips` say which.
 */
export const metrics = orgProcedure("telemetry.read")
  .input(
    z.object({
      ...rangeInput,
      by: z.enum(RED_GROUPS).default("service"),
      /** The K8s label key when `by` is "label". */
      labelKey: z.string().min(1).max(253).optional(),
      apdexMs: z.number().positive().max(10_000).default(100),
      groupId: z.number().int().min(0).optional(),
      filters: filtersInput,
    }),
  )
  .output(
    z.object({
      red: z.array(redRow),
      tcp: z.array(tcpRow),
      redSkips: z.array(z.string()),
      tcpSkips: z.array(z.string()),
      source: z.enum(["raw", "rollup"]),
      tier: z.enum(["raw", "1m", "1h"]),
      apdexThresholdUs: z.number(),
      appSeries: z.array(point),
      netSeries: z.array(point),
    }),
  )
  .query(({ ctx, input }) =>
    asBadRequest(async () => {
      const ch = analysisClickhouse();
      const split = splitMetricsFilters(input.filters);
      const base = { orgId: ctx.org.id, from: input.from, to: input.to, groupId: input.groupId };
      const labelKey = input.by === "label" ? input.labelKey : undefined;
      const step = input.to - input.from > 3_600_000_000 ? "minute" : "second";
      const range = { orgId: ctx.org.id, from: input.from, to: input.to, step } as const;
      const [red, tcp, app, net] = await Promise.all([
        redMetrics(ch, { ...base, by: input.by, labelKey, apdexMs: input.apdexMs, filters: split.red }),
        // TCP rows have no endpoint: per endpoint, TCP stays per server.
        tcpMetrics(ch, {
          ...base,
          by: input.by === "endpoint" ? "service" : input.by,
          labelKey,
          filters: split.tcp,
        }),
        applicationMetricsSeries(ch, { ...range, pageFilters: split.red }),
        networkMetricsSeries(ch, { ...range, pageFilters: split.tcp }),
      ]);
      return {
        red: red.rows,
        tcp: tcp.rows,
        redSkips: split.redSkips,
        tcpSkips: split.tcpSkips,
        source: red.source,
        tier: red.tier,
        apdexThresholdUs: red.apdexThresholdUs,
        appSeries: app.map((p) => ({
          time: p.time,
          values: {
            requests: p.requests,
            errors: p.errors_client + p.errors_server + p.timeouts,
            p95Us: p.p95_us,
          },
        })),
        netSeries: net.map((p) => ({
          time: p.time,
          values: { bytes: p.bytes_c2s + p.bytes_s2c, retrans: p.retrans, rttAvgUs: p.rtt_avg_us },
        })),
      };
    }),
  );
