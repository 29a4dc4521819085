import { npbCounters, ZNpbCounterRow } from "@flowplane/query";
import { z } from "zod";
import { orgProcedure } from "../../trpc/procedures.ts";
import { analysisClickhouse, asBadRequest } from "../analysis/shared.ts";

const MAX_RANGE_US = 31 * 24 * 3600 * 1_000_000;

/**
 * What agents reported per policy (matched, sent, bytes, truncated, deduplicated, left to
 * another agent, dropped by cap) over a range: totals, per agent, or per step. Read from
 * ClickHouse `npb_policy_counters` scoped to the caller's org.
 */
export const counters = orgProcedure("policies.read")
  .input(
    z
      .object({
        from: z.number().int().nonnegative(),
        to: z.number().int().positive(),
        byAgent: z.boolean().default(false),
        stepS: z.number().int().min(60).max(86_400).optional(),
      })
      .refine((r) => r.to > r.from, "`to` must be after `from`")
      .refine((r) => r.to - r.from <= MAX_RANGE_US, "at most 31 days per request"),
  )
  .output(z.array(ZNpbCounterRow))
  .query(({ ctx, input }) =>
    asBadRequest(() =>
      npbCounters(analysisClickhouse(), {
        orgId: ctx.org.id,
        from: input.from,
        to: input.to,
        byAgent: input.byAgent,
        ...(input.stepS ? { stepS: input.stepS } : {}),
      }),
    ),
  );
