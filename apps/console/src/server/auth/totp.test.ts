import { describe, expect, it } from "vitest";
import {
  base32Decode,
  base32Encode,
  hotp,
  newTotpSecret,
  openSecret,
  sealSecret,
  totp,
  verifyTotp,
} from "./totp.ts";

describe("TOTP (RFC 6238)", () => {
  // RFC 6238 appendix B, SHA1, 8 digits, secret "12345678901234567890".
  const secret = base32Encode(Buffer.from("12345678901234567890"));
  it.each([
    [59, "94287082"],
    [1111111109, "07081804"],
    [1111111111, "14050471"],
    [1234567890, "89005924"],
    [2000000000, "69279037"],
    [20000000000, "65353130"],
  ])("at %i s the code is %s", (seconds, code) => {
    expect(totp(secret, seconds * 1000, 8)).toBe(code);
  });

  it("RFC 4226 HOTP vectors", () => {
    const key = Buffer.from("12345678901234567890");
    expect([0, 1, 2, 9].map((c) => hotp(key, c))).toEqual(["755224", "287082", "359152", "520489"]);
  });

  it("verifies the current step and one either side, nothing further", () => {
    const s = newTotpSecret();
    const now = 1_700_000_000_000;
    expect(verifyTotp(s, totp(s, now), now)).toBe(true);
    expect(verifyTotp(s, totp(s, now - 30_000), now)).toBe(true);
    expect(verifyTotp(s, totp(s, now + 30_000), now)).toBe(true);
    expect(verifyTotp(s, totp(s, now - 90_000), now)).toBe(false);
    expect(verifyTotp(s, "12345", now)).toBe(false);
  });

  it("base32 round-trips and the sealed secret opens only with the same auth secret", () => {
    const s = newTotpSecret();
    expect(base32Encode(base32Decode(s))).toBe(s);
    const sealed = sealSecret(s, "auth-secret-aaaaaaaaaaaa");
    expect(sealed).not.toContain(s);
    expect(openSecret(sealed, "auth-secret-aaaaaaaaaaaa")).toBe(s);
    expect(() => openSecret(sealed, "another-secret-bbbbbbbbb")).toThrow();
  });
});
