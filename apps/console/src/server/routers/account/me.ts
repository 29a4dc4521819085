import { z } from "zod";
import { authedProcedure } from "../../trpc/procedures.ts";

/** The signed-in user's own account. */
export const me = authedProcedure
  .input(z.void())
  .output(z.object({ id: z.string(), email: z.string(), name: z.string().nullable() }))
  .query(({ ctx }) => ({ id: ctx.principal.userId, email: ctx.principal.email, name: ctx.principal.name }));
