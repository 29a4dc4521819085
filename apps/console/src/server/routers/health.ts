import { z } from "zod";
import { publicProcedure } from "../trpc/procedures.ts";

/** Liveness of the API itself (dependencies are checked by GET /healthz). */
export const health = publicProcedure
  .output(z.object({ status: z.literal("ok"), time: z.string() }))
  .query(() => ({ status: "ok" as const, time: new Date().toISOString() }));
