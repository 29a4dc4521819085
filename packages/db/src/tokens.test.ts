import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { hashPassword, verifyPassword } from "./passwords.ts";
import { generateToken, hashToken, TOKEN_PREFIXES, tokenKind } from "./tokens.ts";

describe("tokens", () => {
  it("are prefixed by kind, high-entropy, and stored only as sha256", () => {
    for (const kind of ["agent", "enrol", "api"] as const) {
      const t = generateToken(kind);
      expect(t.token.startsWith(TOKEN_PREFIXES[kind])).toBe(true);
      expect(t.token.length).toBe(TOKEN_PREFIXES[kind].length + 43); // 256 bits base64url
      expect(t.token.startsWith(t.prefix)).toBe(true);
      expect(t.prefix.length).toBe(TOKEN_PREFIXES[kind].length + 8);
      expect(t.hash).toBe(createHash("sha256").update(t.token).digest("hex"));
      expect(hashToken(t.token)).toBe(t.hash);
      expect(tokenKind(t.token)).toBe(kind);
    }
    expect(generateToken("enrol").token.startsWith("fpe_")).toBe(true);
  });

  it("never repeat", () => {
    const seen = new Set(Array.from({ length: 2000 }, () => generateToken("api").token));
    expect(seen.size).toBe(2000);
  });

  it("tokenKind rejects look-alikes", () => {
    expect(tokenKind("fpe_short")).toBeNull();
    expect(tokenKind(`xyz_${"a".repeat(43)}`)).toBeNull();
  });
});

describe("passwords", () => {
  it("hash with argon2id, salted, and verify", async () => {
    const a = await hashPassword("correct horse battery staple");
    const b = await hashPassword("correct horse battery staple");
    expect(a.startsWith("$argon2id$")).toBe(true);
    expect(a).not.toBe(b);
    expect(await verifyPassword(a, "correct horse battery staple")).toBe(true);
    expect(await verifyPassword(a, "correct horse battery stapler")).toBe(false);
    expect(await verifyPassword(a, "")).toBe(false);
  });

  it("treat a missing or malformed hash as a failed sign-in, not a crash", async () => {
    expect(await verifyPassword(null, "x")).toBe(false);
    expect(await verifyPassword("not-a-hash", "x")).toBe(false);
    await expect(hashPassword("")).rejects.toThrow(/empty/);
  });
});
