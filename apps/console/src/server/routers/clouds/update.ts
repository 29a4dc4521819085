import {
  CloudAccountEditError,
  CloudAccountNotFoundError,
  editCloudAccount,
  ManualImportError,
  SecretsKeyMissingError,
  type TCloudAccountDetail,
  ZEditCloudAccount,
} from "@flowplane/db/clouds";
import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { secretsKeySetting } from "../../../env.ts";
import { writeAudit } from "../../audit.ts";
import { isUniqueViolation } from "../../prisma-errors.ts";
import { orgProcedure } from "../../trpc/procedures.ts";
import { notFound, ZCloudAccountDetail } from "./detail.ts";

/** What the audit keeps of an account: the name and its settings, never a secret. */
const audited = (d: TCloudAccountDetail) => ({ name: d.name, kind: d.kind, settings: d.settings });

/**
 * Renames an account and/or replaces its credentials and settings. Secret fields are write-only:
 * empty keeps the stored one. The merged object is checked with the sources' schemas and sealed
 * again with FLOWPLANE_SECRETS_KEY; the audit row names the secrets replaced, never their values.
 */
export const update = orgProcedure("cloud.write")
  // Flat: each field is a top-level key, so a validation message names the form's field.
  .input(z.object({ accountId: z.uuid() }))
  .input(ZEditCloudAccount)
  .output(ZCloudAccountDetail)
  .mutation(async ({ ctx, input }) => {
    const { accountId, orgSlug: _slug, ...account } = input;
    try {
      const r = await editCloudAccount(ctx.db, secretsKeySetting(), ctx.org.id, accountId, account);
      await writeAudit(ctx, {
        action: "clouds.update",
        targetType: "cloud_account",
        targetId: r.after.id,
        before: audited(r.before),
        after: { ...audited(r.after), credentialsReplaced: r.replaced },
      });
      return r.after;
    } catch (err) {
      if (err instanceof CloudAccountNotFoundError) throw notFound();
      if (err instanceof SecretsKeyMissingError) {
        throw new TRPCError({
          code: "PRECONDITION_FAILED",
          message:
            "The console has no FLOWPLANE_SECRETS_KEY, the key that encrypts credentials: set it to the controller's key to change credentials or settings. Renaming needs none.",
        });
      }
      // Already "field: why" (the merged object, checked with the source's schema).
      if (err instanceof CloudAccountEditError)
        throw new TRPCError({ code: "BAD_REQUEST", message: err.message });
      if (err instanceof ManualImportError) {
        throw new TRPCError({ code: "BAD_REQUEST", message: `text: manual import: ${err.message}` });
      }
      if (isUniqueViolation(err)) {
        throw new TRPCError({
          code: "CONFLICT",
          message: `name: an account named “${account.name}” exists already.`,
        });
      }
      throw err;
    }
  });
