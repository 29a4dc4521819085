import { hashPassword } from "@flowplane/db";
import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { newPassword } from "../../auth/password-reset.ts";
import { isUniqueViolation } from "../../prisma-errors.ts";
import { publicProcedure } from "../../trpc/procedures.ts";

/** Creates an account (no org yet: the user creates one or accepts an invitation). */
export const signUp = publicProcedure
  .input(
    z.object({
      email: z.string().trim().toLowerCase().pipe(z.email("Enter a valid email address.")),
      name: z.string().trim().min(1).max(100).optional(),
      password: newPassword,
    }),
  )
  .output(z.object({ id: z.string(), email: z.string() }))
  .mutation(async ({ ctx, input }) => {
    const passwordHash = await hashPassword(input.password);
    try {
      // Platform table: users are not tenant-owned.
      return await ctx.db.unsafe.user.create({
        data: { email: input.email, name: input.name ?? null, passwordHash },
        select: { id: true, email: true },
      });
    } catch (err) {
      if (isUniqueViolation(err)) {
        throw new TRPCError({
          code: "CONFLICT",
          message: "An account with this email already exists. Sign in instead.",
        });
      }
      throw err;
    }
  });
