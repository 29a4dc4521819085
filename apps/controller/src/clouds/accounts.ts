import type { Db } from "@flowplane/db/client";
import { z } from "zod";
import { type SecretsKey, sealSecret } from "./secrets.ts";
import { ZAwsCredentials } from "./sources/aws.ts";
import { ZKubernetesCredentials } from "./sources/kubernetes.ts";
import { parseManual, ZManualDocument } from "./sources/manual.ts";

/** What any API may show of a cloud account: never the credentials, sealed or not. */
export type TCloudAccountView = {
  id: string;
  kind: "aws" | "kubernetes" | "manual" | "agents";
  name: string;
  lastSyncAt: Date | null;
  lastError: string | null;
  createdAt: Date;
};

const VIEW = {
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

/**
 * Adds a source to an org. Credentials are validated, sealed (AES-256-GCM) and dropped: the
 * answer is the view, which has no credential field. A manual document is checked at once so a
 * broken import fails here, not in the job.
 */
export async function createCloudAccount(
  db: Db,
  key: SecretsKey,
  orgId: string,
  input: TCreateCloudAccount,
): Promise<TCloudAccountView> {
  const p = ZCreateCloudAccount.parse(input);
  if (p.kind === "manual") parseManual(p.credentials);
  const credentials = p.kind === "agents" ? {} : p.credentials;
  return db.forOrg(orgId).cloudAccount.create({
    data: { orgId, kind: p.kind, name: p.name, encryptedCredentials: sealSecret(key, orgId, credentials) },
    select: VIEW,
  });
}

/** Replaces a manual account's document (the next sync applies it). */
export async function replaceManualDocument(
  db: Db,
  key: SecretsKey,
  orgId: string,
  accountId: string,
  doc: z.input<typeof ZManualDocument>,
): Promise<void> {
  parseManual(doc);
  const r = await db.forOrg(orgId).cloudAccount.updateMany({
    where: { id: accountId, kind: "manual" },
    data: { encryptedCredentials: sealSecret(key, orgId, ZManualDocument.parse(doc)) },
  });
  if (r.count !== 1) throw new Error("manual account not found");
}

/** Accounts with their sync status (last sync, last error): what the console lists. */
export function listCloudAccounts(db: Db, orgId: string): Promise<TCloudAccountView[]> {
  return db.forOrg(orgId).cloudAccount.findMany({ select: VIEW, orderBy: { name: "asc" } });
}

/** The last changes of an org's resource model, newest first (history page). */
export function resourceHistory(db: Db, orgId: string, opts: { resourceId?: string; limit?: number } = {}) {
  return db.forOrg(orgId).cloudResourceChange.findMany({
    where: opts.resourceId ? { resourceId: opts.resourceId } : {},
    orderBy: { at: "desc" },
    take: Math.min(opts.limit ?? 100, 1000),
    include: { resource: { select: { kind: true, externalId: true, name: true, tagId: true } } },
  });
}
