import { initTRPC, TRPCError } from "@trpc/server";
import { z } from "zod";
import type { TrpcContext } from "./context.ts";
import { toTrpcError } from "./errors.ts";

/** Procedure metadata: the permission an org procedure demands (docs and audits read it). */
export type ProcedureMeta = { permission?: string };

const t = initTRPC
  .context<TrpcContext>()
  .meta<ProcedureMeta>()
  .create({
    errorFormatter({ shape, error }) {
      const internal = error.code === "INTERNAL_SERVER_ERROR";
      return {
        ...shape,
        // Internal details stay in the server log; the client gets a readable sentence.
        message: internal
          ? "Something went wrong on the server. Try again; if it persists, check the console logs."
          : shape.message,
        data: {
          ...shape.data,
          stack: undefined,
          issues: error.cause instanceof z.ZodError ? z.flattenError(error.cause) : undefined,
        },
      };
    },
  });

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;
export const middleware = t.middleware;

/** Every procedure starts here: FlowplaneErrors become their tRPC codes, the rest gets logged. */
export const baseProcedure = t.procedure.use(async ({ ctx, next, path }) => {
  const result = await next();
  if (!result.ok) {
    const mapped = toTrpcError(result.error.cause);
    if (mapped instanceof TRPCError) throw mapped;
    if (result.error.code === "INTERNAL_SERVER_ERROR") {
      ctx.log.error({ err: result.error.cause ?? result.error, path }, "procedure failed");
    }
  }
  return result;
});
