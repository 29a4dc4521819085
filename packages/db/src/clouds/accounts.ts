import { z } from "zod";
import type { Db, ScopedClient } from "../client.ts";
import { ZAwsCredentials, ZKubernetesCredentials } from "./credentials.ts";
import { parseManual, ZManualDocument } from "./manual.ts";
import { type SecretsKey, sealSecret } from "./secrets.ts";

/**
 * The platform client or one org's scoped client (the console's `ctx.db`): either way every
 * query below goes through `forOrg`, the tenancy choke point.
 */
export type TCloudDb = Db | ScopedClient;
/** `db` narrowed to `orgId` (the scoped client as it is). */
export const orgScoped = (db: TCloudDb, orgId: string): ScopedClient =>
  "forOrg" in db ? db.forOrg(orgId) : db;

/** What any API may show of a cloud account: never the credentials, sealed or not. */
export type TCloudAccountView = {
  id: string;
  kind: "aws" | "kubernetes" | "manual" | "agents";
  name: string;
  lastSyncAt: Date | null;
  lastError: string | null;
  createdAt: Date;
};

/** The columns of a TCloudAccountView (a Prisma select), for every query that returns one. */
export const CLOUD_ACCOUNT_VIEW = {
  id: true,
  kind: true,
  name: true,
  lastSyncAt: true,
  lastError: true,
  createdAt: true,
} as const;

export const ZCreateCloudAccount = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("aws"), name: z.string().min(1).max(100), credentials: ZAwsCredentials }),
  z.object({
    kind: z.literal("kubernetes"),
    name: z.string().min(1).max(100),
    credentials: ZKubernetesCredentials,
  }),
  z.object({ kind: z.literal("manual"), name: z.string().min(1).max(100), credentials: ZManualDocument }),
  z.object({ kind: z.literal("agents"), name: z.string().min(1).max(100) }),
]);
export type TCreateCloudAccount = z.input<typeof ZCreateCloudAccount>;

export class SecretsKeyMissingError extends Error {
  override name = "SecretsKeyMissingError";
}

/**
 * Adds a source to an org. Credentials are validated, sealed (AES-256-GCM) and dropped: the
 * answer is the view, which has no credential field. A manual document is checked at once so a
 * broken import fails here, not in the job. An `agents` account has nothing to seal (its sync
 * reads the org's agents), so it needs no key: an empty blob is stored.
 */
export async function createCloudAccount(
  db: TCloudDb,
  key: SecretsKey | undefined,
  orgId: string,
  input: TCreateCloudAccount,
): Promise<TCloudAccountView> {
  const p = ZCreateCloudAccount.parse(input);
  if (p.kind === "manual") parseManual(p.credentials);
  let sealed = new Uint8Array(0);
  if (p.kind !== "agents") {
    if (!key) {
      throw new SecretsKeyMissingError(
        "FLOWPLANE_SECRETS_KEY is not set: it is needed to encrypt the credentials (the controller's key)",
      );
    }
    sealed = sealSecret(key, orgId, p.credentials);
  }
  return orgScoped(db, orgId).cloudAccount.create({
    data: { orgId, kind: p.kind, name: p.name, encryptedCredentials: sealed },
    select: CLOUD_ACCOUNT_VIEW,
  });
}

/** Replaces a manual account's document (the next sync applies it). */
export async function replaceManualDocument(
  db: TCloudDb,
  key: SecretsKey,
  orgId: string,
  accountId: string,
  doc: z.input<typeof ZManualDocument>,
): Promise<void> {
  parseManual(doc);
  const r = await orgScoped(db, orgId).cloudAccount.updateMany({
    where: { id: accountId, kind: "manual", deletedAt: null },
    data: { encryptedCredentials: sealSecret(key, orgId, ZManualDocument.parse(doc)) },
  });
  if (r.count !== 1) throw new Error("manual account not found");
}

/** Accounts with their sync status (last sync, last error): what the console lists. */
export function listCloudAccounts(db: TCloudDb, orgId: string): Promise<TCloudAccountView[]> {
  return orgScoped(db, orgId).cloudAccount.findMany({
    where: { deletedAt: null },
    select: CLOUD_ACCOUNT_VIEW,
    orderBy: { name: "asc" },
  });
}

/** The last changes of an org's resource model, newest first (history page). */
export function resourceHistory(
  db: TCloudDb,
  orgId: string,
  opts: { resourceId?: string; limit?: number } = {},
) {
  return orgScoped(db, orgId).cloudResourceChange.findMany({
    where: opts.resourceId ? { resourceId: opts.resourceId } : {},
    orderBy: { at: "desc" },
    take: Math.min(opts.limit ?? 100, 1000),
    include: { resource: { select: { kind: true, externalId: true, name: true, tagId: true } } },
  });
}

export class CloudAccountNotFoundError extends Error {
  override name = "CloudAccountNotFoundError";
}

/**
 * Removes a source from an org, keeping what old rows need. The account row stays, marked
 * deleted (its resources' tag ids still name old rows, and their history is the record), and is
 * renamed so the name can be used again; its live resources are marked deleted with a `deleted`
 * change each; the org's dictionary version moves so taggers drop them. The sync schedule and the
 * Redis push are the controller's: its scan (`clouds/runtime.ts`) unschedules deleted accounts
 * and publishes any version Redis has not seen, so this needs neither BullMQ nor Redis.
 */
export async function removeCloudAccount(
  db: TCloudDb,
  orgId: string,
  accountId: string,
): Promise<TCloudAccountView & { deletedResources: number; version: number }> {
  return orgScoped(db, orgId).$transaction(async (tx) => {
    const account = await tx.cloudAccount.findFirst({
      where: { id: accountId, deletedAt: null },
      select: CLOUD_ACCOUNT_VIEW,
    });
    if (!account) throw new CloudAccountNotFoundError("cloud account not found");
    const now = new Date();
    await tx.cloudAccount.update({
      where: { id: accountId },
      data: { deletedAt: now, name: `${account.name} (deleted ${now.toISOString()})` },
    });
    const live = await tx.cloudResource.findMany({
      where: { accountId, deletedAt: null },
      select: { id: true, name: true, refs: true, cidr: true, ips: true, labels: true, attrs: true },
    });
    await tx.cloudResource.updateMany({ where: { accountId, deletedAt: null }, data: { deletedAt: now } });
    await tx.cloudResourceChange.createMany({
      data: live.map((r) => ({
        orgId,
        resourceId: r.id,
        action: "deleted" as const,
        before: {
          name: r.name,
          refs: r.refs ?? {},
          ...(r.cidr ? { cidr: r.cidr } : {}),
          ips: r.ips,
          labels: r.labels ?? {},
          attrs: r.attrs ?? {},
        },
      })),
    });
    // Always a new version, even with no resources: cheap, and a tagger never keeps a stale view.
    const inv = await tx.cloudInventory.upsert({
      where: { orgId },
      create: { orgId, version: 1 },
      update: { version: { increment: 1 } },
    });
    return { ...account, deletedResources: live.length, version: inv.version };
  });
}
