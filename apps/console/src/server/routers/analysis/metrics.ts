import { applicationMetricsSeries, networkMetricsSeries, redMetrics, tcpMetrics } from "@flowplane/query";
import { z } from "zod";
import { orgProcedure } from "../../trpc/procedures.ts";
import { analysisClickhouse, asBadRequest, rangeInput } from "./shared.ts";

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

/** RED per service or endpoint, Apdex, TCP health per server and the series behind the charts. */
export const metrics = orgProcedure("telemetry.read")
  .input(
    z.object({
      ...rangeInput,
      by: z.enum(["service", "endpoint"]).default("service"),
      apdexMs: z.number().positive().max(10_000).default(100),
      groupId: z.number().int().min(0).optional(),
    }),
  )
  .output(
    z.object({
      red: z.array(redRow),
      tcp: z.array(tcpRow),
      source: z.enum(["raw", "rollup"]),
      apdexThresholdUs: z.number(),
      appSeries: z.array(point),
      netSeries: z.array(point),
    }),
  )
  .query(({ ctx, input }) =>
    asBadRequest(async () => {
      const ch = analysisClickhouse();
      const base = { orgId: ctx.org.id, from: input.from, to: input.to, groupId: input.groupId };
      const step = input.to - input.from > 3_600_000_000 ? "minute" : "second";
      const [red, tcp, app, net] = await Promise.all([
        redMetrics(ch, { ...base, by: input.by, apdexMs: input.apdexMs }),
        tcpMetrics(ch, base),
        applicationMetricsSeries(ch, { orgId: ctx.org.id, from: input.from, to: input.to, step }),
        networkMetricsSeries(ch, { orgId: ctx.org.id, from: input.from, to: input.to, step }),
      ]);
      return {
        red: red.rows,
        tcp: tcp.rows,
        source: red.source,
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
