import {
  createCloudAccount,
  ManualImportError,
  SecretsKeyMissingError,
  ZCreateCloudAccount,
} from "@flowplane/db/clouds";
import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { secretsKeySetting } from "../../../env.ts";
import { writeAudit } from "../../audit.ts";
import { isUniqueViolation } from "../../prisma-errors.ts";
import { orgProcedure } from "../../trpc/procedures.ts";
import { ZAccountKind } from "./list.ts";

/** What the console shows of an account it just added: never the credentials, sealed or not. */
export const ZCloudAccountView = z
  .object({
    id: z.string(),
    kind: ZAccountKind,
    name: z.string(),
    lastSyncAt: z.date().nullable(),
    lastError: z.string().nullable(),
    createdAt: z.date(),
  })
  .strict();

/**
 * Adds a source. The credentials are validated with the controller's own schemas, sealed with
 * FLOWPLANE_SECRETS_KEY and never returned, logged or audited (shown once: what the admin typed).
 * The controller's account scan schedules its sync within seconds.
 */
export const create = orgProcedure("cloud.write")
  .input(z.object({ account: ZCreateCloudAccount }))
  .output(ZCloudAccountView)
  .mutation(async ({ ctx, input }) => {
    let view: z.infer<typeof ZCloudAccountView>;
    try {
      view = await createCloudAccount(ctx.db, secretsKeySetting(), ctx.org.id, input.account);
    } catch (err) {
      if (err instanceof SecretsKeyMissingError) {
        throw new TRPCError({
          code: "PRECONDITION_FAILED",
          message:
            "The console has no FLOWPLANE_SECRETS_KEY, the key that encrypts credentials: set it to the controller's key to add this account. An agent-hosts account needs none.",
        });
      }
      if (err instanceof ManualImportError) {
        throw new TRPCError({ code: "BAD_REQUEST", message: `Manual import: ${err.message}` });
      }
      if (isUniqueViolation(err)) {
        throw new TRPCError({
          code: "CONFLICT",
          message: `An account named “${input.account.name}” exists already.`,
        });
      }
      throw err;
    }
    await writeAudit(ctx, {
      action: "clouds.create",
      targetType: "cloud_account",
      targetId: view.id,
      after: view,
    });
    return view;
  });
