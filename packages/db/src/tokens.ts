import { createHash, randomBytes } from "node:crypto";

/** Token kinds and their visible prefixes, so a leaked token says what it is (and scanners can match it). */
export const TOKEN_PREFIXES = { agent: "fpa_", enrol: "fpe_", api: "fpk_" } as const;
export type TTokenKind = keyof typeof TOKEN_PREFIXES;

export interface GeneratedToken {
  /** Shown once to the user, never stored. */
  token: string;
  /** Stored and shown in lists to recognise the token: kind prefix + first 8 random characters. */
  prefix: string;
  /** sha256 hex of `token`: what the database keeps and looks up. */
  hash: string;
}

/** 32 random bytes (256 bits) in base64url behind the kind's prefix. */
export function generateToken(kind: TTokenKind): GeneratedToken {
  const token = TOKEN_PREFIXES[kind] + randomBytes(32).toString("base64url");
  return { token, prefix: token.slice(0, TOKEN_PREFIXES[kind].length + 8), hash: hashToken(token) };
}

/**
 * sha256 hex. A fast hash is right here (unlike passwords): tokens carry 256 bits of entropy,
 * so there is nothing to brute-force, and lookups by hash must be cheap.
 */
export function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** The kind of a token by its prefix, or null for anything that is not a Flowplane token. */
export function tokenKind(token: string): TTokenKind | null {
  for (const [kind, prefix] of Object.entries(TOKEN_PREFIXES)) {
    if (token.startsWith(prefix) && /^[A-Za-z0-9_-]{43}$/.test(token.slice(prefix.length)))
      return kind as TTokenKind;
  }
  return null;
}
