import { z } from "zod";
import {
  CLOUD_ACCOUNT_VIEW,
  CloudAccountNotFoundError,
  orgScoped,
  SecretsKeyMissingError,
  type TCloudAccountView,
  type TCloudDb,
} from "./accounts.ts";
import { ZAwsCredentials, ZKubernetesCredentials } from "./credentials.ts";
import { parseManual, ZManualDocument } from "./manual.ts";
import { openSecret, SecretOpenError, type SecretsKey, sealSecret } from "./secrets.ts";

// Editing an account (issue 9): rename it, replace its credentials, change its settings. The
// sealed blob holds credentials and settings together (the sources read one object), so an edit
// opens it, merges the change, validates the result with the sources' own schemas and seals it
// again. Secret fields are write-only: absent or "" keeps the stored value, and nothing here
// returns one (the settings view is an allow-list).

/** Fields of each kind's sealed object that are never shown again (only whether one is stored). */
export const SECRET_FIELDS = {
  aws: ["accessKeyId", "secretAccessKey", "sessionToken"],
  kubernetes: ["kubeconfig", "token"],
  manual: ["text"],
  agents: [],
} as const;
export type TSecretField = (typeof SECRET_FIELDS)[keyof typeof SECRET_FIELDS][number];

const name = z.string().trim().min(1, "required").max(100, "at most 100 characters").optional();
/** A write-only field: absent or "" keeps the stored value. */
const secret = z.string().max(100_000, "too long").optional();
/** A write-only field that may also be removed (null). */
const removableSecret = secret.nullable();

/**
 * One account's edit, flat (each key is a field of the form, so a validation message names it).
 * Absent keeps a setting; null removes an optional one.
 */
export const ZEditCloudAccount = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("aws"),
    name,
    accessKeyId: secret,
    secretAccessKey: secret,
    sessionToken: removableSecret,
    homeRegion: z.string().trim().min(1, "required (e.g. us-east-1)").max(50).optional(),
    /** null: every region the account has enabled. */
    regions: z
      .array(
        z
          .string()
          .trim()
          .regex(/^[a-z0-9-]{2,50}$/, "expected region names like eu-west-1"),
      )
      .max(100)
      .nullable()
      .optional(),
    endpoint: z
      .url({ protocol: /^https?$/, error: "expected an http(s):// URL" })
      .nullable()
      .optional(),
    tunnelIds: z.record(z.string().min(1), z.number().int("expected whole numbers").nonnegative()).optional(),
  }),
  z.object({
    kind: z.literal("kubernetes"),
    name,
    kubeconfig: removableSecret,
    token: removableSecret,
    server: z
      .url({ protocol: /^https?$/, error: "expected the API server's https:// URL" })
      .nullable()
      .optional(),
    caData: z.string().max(100_000).nullable().optional(),
    skipTLSVerify: z.boolean().optional(),
    vpc: z.string().trim().min(1).max(200).nullable().optional(),
    pageSize: z.number().int().min(1, "1 to 5000").max(5000, "1 to 5000").optional(),
  }),
  z.object({
    kind: z.literal("manual"),
    name,
    format: z.enum(["json", "csv"]).optional(),
    /** The whole document; "" keeps the stored one. */
    text: z.string().max(10_000_000, "at most 10 MB").optional(),
  }),
  z.object({ kind: z.literal("agents"), name }),
]);
export type TEditCloudAccount = z.input<typeof ZEditCloudAccount>;

/** What the edit form may show of the sealed object: settings, and which secrets are stored. */
export type TCloudAccountSettings =
  | {
      kind: "aws";
      homeRegion: string;
      regions: string[] | null;
      endpoint: string | null;
      tunnelIds: Record<string, number>;
    }
  | {
      kind: "kubernetes";
      server: string | null;
      caData: string | null;
      skipTLSVerify: boolean;
      vpc: string | null;
      pageSize: number;
    }
  | { kind: "manual"; format: "json" | "csv"; resources: number }
  | { kind: "agents" };

export type TCloudAccountDetail = TCloudAccountView & {
  /** null when the stored object does not open with this key (it can still be replaced whole). */
  settings: TCloudAccountSettings | null;
  /** Secret fields that hold a value (never the value). */
  stored: TSecretField[];
};

/** An edit the stored object does not allow, or a result the source's schema refuses. */
export class CloudAccountEditError extends Error {
  override name = "CloudAccountEditError";
  constructor(
    /** The form field it is about. */
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

type TKind = TCloudAccountView["kind"];
type TStored = Record<string, unknown>;

function settingsOf(kind: TKind, o: TStored): TCloudAccountSettings {
  const str = (v: unknown) => (typeof v === "string" && v !== "" ? v : null);
  switch (kind) {
    case "aws": {
      const c = ZAwsCredentials.parse(o);
      return {
        kind,
        homeRegion: c.homeRegion,
        regions: c.regions ?? null,
        endpoint: c.endpoint ?? null,
        tunnelIds: c.tunnelIds,
      };
    }
    case "kubernetes": {
      const c = ZKubernetesCredentials.parse(o);
      return {
        kind,
        server: str(c.server),
        caData: str(c.caData),
        skipTLSVerify: c.skipTLSVerify,
        vpc: str(c.vpc),
        pageSize: c.pageSize,
      };
    }
    case "manual": {
      const d = ZManualDocument.parse(o);
      return { kind, format: d.format, resources: parseManual(d).length };
    }
    case "agents":
      return { kind };
  }
}

const storedSecrets = (kind: TKind, o: TStored | null): TSecretField[] =>
  o
    ? (SECRET_FIELDS[kind] as readonly TSecretField[]).filter((f) => typeof o[f] === "string" && o[f] !== "")
    : [];

/** Opens a sealed object; null when it does not open (another key) or is not an object. */
function openOrNull(key: SecretsKey | undefined, orgId: string, sealed: Uint8Array): TStored | null {
  if (!key || sealed.length === 0) return null;
  try {
    const o = openSecret(key, orgId, sealed);
    return o && typeof o === "object" && !Array.isArray(o) ? (o as TStored) : null;
  } catch (err) {
    if (err instanceof SecretOpenError) return null;
    throw err;
  }
}

/**
 * One live account with what its edit form may show: settings from the opened object (never a
 * secret field) and the names of the secrets it holds. Needs the key except for agent hosts.
 */
export async function getCloudAccountDetail(
  db: TCloudDb,
  key: SecretsKey | undefined,
  orgId: string,
  accountId: string,
): Promise<TCloudAccountDetail> {
  const row = await orgScoped(db, orgId).cloudAccount.findFirst({
    where: { id: accountId, deletedAt: null },
    select: { ...CLOUD_ACCOUNT_VIEW, encryptedCredentials: true },
  });
  if (!row) throw new CloudAccountNotFoundError("cloud account not found");
  const { encryptedCredentials, ...view } = row;
  if (view.kind === "agents") return { ...view, settings: { kind: "agents" }, stored: [] };
  const o = openOrNull(key, orgId, encryptedCredentials);
  let settings: TCloudAccountSettings | null = null;
  try {
    settings = o ? settingsOf(view.kind, o) : null;
  } catch {
    // A stored object an older schema accepted: the form starts empty, an edit replaces it.
  }
  return { ...view, settings, stored: storedSecrets(view.kind, o) };
}

const SECRET_NAMES: ReadonlySet<string> = new Set(Object.values(SECRET_FIELDS).flat());
const keeps = (k: string, v: unknown) => v === undefined || (v === "" && SECRET_NAMES.has(k));

/** Applies `edit` to the stored object: undefined keeps, null removes, "" keeps a secret. */
function merge(stored: TStored, edit: Record<string, unknown>): { next: TStored; replaced: string[] } {
  const next: TStored = { ...stored };
  const replaced: string[] = [];
  for (const [k, v] of Object.entries(edit)) {
    if (keeps(k, v)) continue;
    if (v === null) delete next[k];
    else next[k] = v;
    if (SECRET_NAMES.has(k)) replaced.push(k);
  }
  return { next, replaced };
}

/** The merged object checked with the source's schema; the first problem names its field. */
function validate(kind: Exclude<TKind, "agents">, stored: TStored, next: TStored, opened: boolean): TStored {
  if (kind === "kubernetes" && !next.kubeconfig && !next.server) {
    throw new CloudAccountEditError("server", "give the API server URL, or a kubeconfig");
  }
  if (kind === "manual") {
    if (next.format !== stored.format && next.text === stored.text) {
      throw new CloudAccountEditError("text", `paste the document again as ${String(next.format)}`);
    }
    const d = ZManualDocument.safeParse(next);
    if (!d.success) throw new CloudAccountEditError("text", "paste the whole document");
    parseManual(d.data); // ManualImportError names the row and field
    return d.data;
  }
  const r = (kind === "aws" ? ZAwsCredentials : ZKubernetesCredentials).safeParse(next);
  if (r.success) return r.data as TStored;
  const issue = r.error.issues[0];
  const field = String(issue?.path[0] ?? (kind === "aws" ? "accessKeyId" : "server"));
  const why = opened
    ? "required"
    : "required (the stored credentials do not open with this key: give them all)";
  throw new CloudAccountEditError(field, issue?.code === "invalid_type" ? why : (issue?.message ?? why));
}

export type TCloudAccountEdit = {
  before: TCloudAccountDetail;
  after: TCloudAccountDetail;
  /** Secret fields given a new value or removed (names only, for the audit). */
  replaced: string[];
};

/**
 * Renames an account and/or merges new credentials and settings into its sealed object, re-sealed
 * with `key` (the environment's). A rename alone needs no key.
 */
export async function editCloudAccount(
  db: TCloudDb,
  key: SecretsKey | undefined,
  orgId: string,
  accountId: string,
  input: TEditCloudAccount,
): Promise<TCloudAccountEdit> {
  const edit = ZEditCloudAccount.parse(input);
  const client = orgScoped(db, orgId);
  const before = await getCloudAccountDetail(db, key, orgId, accountId);
  if (before.kind !== edit.kind) {
    throw new CloudAccountEditError("kind", `this account is of kind ${before.kind}`);
  }
  const { kind: _k, name: newName, ...fields } = edit as Record<string, unknown> & { name?: string };
  const touches = edit.kind !== "agents" && Object.entries(fields).some(([k, v]) => !keeps(k, v));
  if (touches && !key) {
    throw new SecretsKeyMissingError(
      "FLOWPLANE_SECRETS_KEY is not set: it is needed to change credentials or settings (the controller's key)",
    );
  }
  let replaced: string[] = [];
  // Compare-and-set on the sealed bytes (a sync never writes them): an edit that raced another
  // one merges again onto what that one stored instead of undoing it.
  for (let attempt = 0; ; attempt++) {
    const row = await client.cloudAccount.findFirst({
      where: { id: accountId, deletedAt: null },
      select: { encryptedCredentials: true },
    });
    if (!row) throw new CloudAccountNotFoundError("cloud account not found");
    const data: { name?: string; encryptedCredentials?: Uint8Array<ArrayBuffer> } = {};
    if (newName !== undefined && newName !== before.name) data.name = newName;
    if (touches && key) {
      const stored = openOrNull(key, orgId, row.encryptedCredentials);
      const merged = merge(stored ?? {}, fields);
      replaced = merged.replaced;
      data.encryptedCredentials = sealSecret(
        key,
        orgId,
        validate(edit.kind, stored ?? {}, merged.next, stored !== null),
      );
    }
    if (Object.keys(data).length === 0) break;
    const r = await client.cloudAccount.updateMany({
      where: { id: accountId, deletedAt: null, encryptedCredentials: { equals: row.encryptedCredentials } },
      data,
    });
    if (r.count === 1) break;
    if (attempt >= 2) throw new Error("cloud account: the edit kept racing other edits; try again");
  }
  const after = await getCloudAccountDetail(db, key, orgId, accountId);
  return { before, after, replaced };
}
