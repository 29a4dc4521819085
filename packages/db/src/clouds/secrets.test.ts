import { randomBytes } from "node:crypto";
import { inspect } from "node:util";
import { EnvError } from "@flowplane/core/env";
import { describe, expect, it } from "vitest";
import { openSecret, SecretOpenError, SecretsKey, sealSecret, secretsKeyFromEnv } from "./secrets.ts";

const ORG = "11111111-1111-4111-8111-111111111111";
const OTHER = "22222222-2222-4222-8222-222222222222";

describe("sealed credentials (AES-256-GCM)", () => {
  const b64 = randomBytes(32).toString("base64");
  const key = secretsKeyFromEnv({ FLOWPLANE_SECRETS_KEY: b64 });
  const secret = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI-do-not-show" };

  it("round-trips, and the sealed bytes do not contain the plaintext", () => {
    const sealed = sealSecret(key, ORG, secret);
    expect(openSecret(key, ORG, sealed)).toEqual(secret);
    expect(Buffer.from(sealed).toString("latin1")).not.toContain("wJalrXUtnFEMI");
    // a fresh IV each time
    expect(Buffer.from(sealSecret(key, ORG, secret)).equals(Buffer.from(sealed))).toBe(false);
  });

  it("does not open with another key, for another org, or when tampered with", () => {
    const sealed = sealSecret(key, ORG, secret);
    expect(() => openSecret(SecretsKey.fromBase64(randomBytes(32).toString("base64")), ORG, sealed)).toThrow(
      SecretOpenError,
    );
    expect(() => openSecret(key, OTHER, sealed)).toThrow(SecretOpenError);
    const bad = Buffer.from(sealed);
    bad[bad.length - 1] = (bad[bad.length - 1] ?? 0) ^ 1;
    expect(() => openSecret(key, ORG, bad)).toThrow(/do not open/);
    try {
      openSecret(key, OTHER, sealed);
    } catch (err) {
      expect(String((err as Error).message)).not.toContain("wJalr");
    }
  });

  it("validates the key from the environment without echoing it, and never prints it", () => {
    expect(() => secretsKeyFromEnv({ FLOWPLANE_SECRETS_KEY: "c2hvcnQta2V5" })).toThrow(EnvError);
    try {
      secretsKeyFromEnv({ FLOWPLANE_SECRETS_KEY: "c2hvcnQta2V5" });
    } catch (err) {
      expect((err as Error).message).toMatch(/FLOWPLANE_SECRETS_KEY: expected 32 bytes/);
      expect((err as Error).message).not.toContain("c2hvcnQta2V5");
    }
    expect(() => secretsKeyFromEnv({})).toThrow(/FLOWPLANE_SECRETS_KEY/);
    expect(JSON.stringify({ key })).not.toContain(b64);
    expect(inspect(key)).toBe("[secrets key]");
  });
});
