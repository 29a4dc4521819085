import { CloudAccountNotFoundError, getCloudAccountDetail } from "@flowplane/db/clouds";
import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { secretsKeySetting } from "../../../env.ts";
import { orgProcedure } from "../../trpc/procedures.ts";
import { ZCloudAccountView } from "./create.ts";

// Every field is named: an allow-list, so a secret field of the sealed object cannot leave.
const ZSettings = z.discriminatedUnion("kind", [
  z
    .object({
      kind: z.literal("aws"),
      homeRegion: z.string(),
      regions: z.array(z.string()).nullable(),
      endpoint: z.string().nullable(),
      tunnelIds: z.record(z.string(), z.number()),
    })
    .strict(),
  z
    .object({
      kind: z.literal("kubernetes"),
      server: z.string().nullable(),
      caData: z.string().nullable(),
      skipTLSVerify: z.boolean(),
      vpc: z.string().nullable(),
      pageSize: z.number().int(),
    })
    .strict(),
  z
    .object({ kind: z.literal("manual"), format: z.enum(["json", "csv"]), resources: z.number().int() })
    .strict(),
  z.object({ kind: z.literal("agents") }).strict(),
]);

export const ZCloudAccountDetail = ZCloudAccountView.extend({
  /** null: the stored object does not open with the console's key (or it has none). */
  settings: ZSettings.nullable(),
  /** Secret fields holding a value: names only, to say "stored; leave empty to keep". */
  stored: z.array(z.enum(["accessKeyId", "secretAccessKey", "sessionToken", "kubeconfig", "token", "text"])),
}).strict();

export const notFound = () =>
  new TRPCError({ code: "NOT_FOUND", message: "No such cloud account in this organization." });

/**
 * One account as its edit form starts: its settings (opened with FLOWPLANE_SECRETS_KEY) and which
 * secrets are stored, never their values. cloud.write: only editors need it.
 */
export const detail = orgProcedure("cloud.write")
  .input(z.object({ accountId: z.uuid() }))
  .output(ZCloudAccountDetail)
  .query(async ({ ctx, input }) => {
    try {
      return await getCloudAccountDetail(ctx.db, secretsKeySetting(), ctx.org.id, input.accountId);
    } catch (err) {
      if (err instanceof CloudAccountNotFoundError) throw notFound();
      throw err;
    }
  });
