import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { parseEnv } from "@flowplane/core/env";
import { z } from "zod";

/**
 * Cloud credentials at rest: AES-256-GCM with the platform key from FLOWPLANE_SECRETS_KEY
 * (32 bytes, base64). Layout of a sealed blob: version byte (1) | 12-byte IV | 16-byte tag |
 * ciphertext. The org id is the additional data, so a blob copied to another tenant's row does not
 * open. The key and plaintext never reach a log line or an API answer: `TSecretsKey` hides the key
 * from `JSON.stringify`/`util.inspect`.
 */
const VERSION = 1;

export const ZSecretsEnv = z.object({
  FLOWPLANE_SECRETS_KEY: z
    .string({ error: "required: 32 random bytes in base64 (openssl rand -base64 32)" })
    .refine((s) => Buffer.from(s, "base64").length === 32, "expected 32 bytes in base64"),
});

export class SecretsKey {
  readonly #key: Buffer;
  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error("secrets key: expected 32 bytes");
    this.#key = Buffer.from(key);
  }
  static fromBase64(b64: string): SecretsKey {
    return new SecretsKey(Buffer.from(b64, "base64"));
  }
  toJSON(): string {
    return "[secrets key]";
  }
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return "[secrets key]";
  }
  /** @internal the raw key for the cipher only. */
  get bytes(): Buffer {
    return this.#key;
  }
}

export function secretsKeyFromEnv(env: Record<string, string | undefined> = process.env): SecretsKey {
  return SecretsKey.fromBase64(parseEnv(ZSecretsEnv, env).FLOWPLANE_SECRETS_KEY);
}

/** The key when FLOWPLANE_SECRETS_KEY is set (cloud sync off without it); invalid still throws. */
export function optionalSecretsKeyFromEnv(
  env: Record<string, string | undefined> = process.env,
): SecretsKey | undefined {
  return env.FLOWPLANE_SECRETS_KEY === undefined ? undefined : secretsKeyFromEnv(env);
}

export function sealSecret(key: SecretsKey, orgId: string, value: unknown): Uint8Array<ArrayBuffer> {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key.bytes, iv);
  cipher.setAAD(Buffer.from(orgId));
  const body = Buffer.concat([cipher.update(JSON.stringify(value), "utf8"), cipher.final()]);
  const out = Buffer.concat([Buffer.from([VERSION]), iv, cipher.getAuthTag(), body]);
  return new Uint8Array(out);
}

export class SecretOpenError extends Error {
  override name = "SecretOpenError";
}

export function openSecret(key: SecretsKey, orgId: string, sealed: Uint8Array): unknown {
  const buf = Buffer.from(sealed);
  if (buf.length < 29 || buf[0] !== VERSION) throw new SecretOpenError("sealed credentials: unknown format");
  const decipher = createDecipheriv("aes-256-gcm", key.bytes, buf.subarray(1, 13));
  decipher.setAAD(Buffer.from(orgId));
  decipher.setAuthTag(buf.subarray(13, 29));
  try {
    const text = Buffer.concat([decipher.update(buf.subarray(29)), decipher.final()]).toString("utf8");
    return JSON.parse(text);
  } catch {
    // Never echo the cause: it could carry plaintext fragments.
    throw new SecretOpenError(
      "sealed credentials do not open with this key (wrong key or another org's blob)",
    );
  }
}
