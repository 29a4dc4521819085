import { EnvError, parseEnv } from "@flowplane/core/env";
import { describe, expect, it } from "vitest";
import { oidcEnvSchema } from "../../env.ts";

const full = {
  OIDC_ISSUER: "https://idp.example.com/realms/main",
  OIDC_CLIENT_ID: "flowplane",
  OIDC_CLIENT_SECRET: "s3cret-value",
};

function messageOf(env: Record<string, string>): string {
  try {
    parseEnv(oidcEnvSchema, env);
  } catch (err) {
    expect(err).toBeInstanceOf(EnvError);
    return (err as Error).message;
  }
  return "parsed";
}

describe("OIDC settings", () => {
  it("are off when none is set, empty strings included", () => {
    expect(parseEnv(oidcEnvSchema, {}).OIDC_ISSUER).toBeUndefined();
    expect(parseEnv(oidcEnvSchema, { OIDC_ISSUER: "", OIDC_CLIENT_ID: "" }).OIDC_CLIENT_ID).toBeUndefined();
  });

  it("are on with all three, named 'single sign-on' unless OIDC_NAME says otherwise", () => {
    expect(parseEnv(oidcEnvSchema, full).OIDC_NAME).toBe("single sign-on");
    expect(parseEnv(oidcEnvSchema, { ...full, OIDC_NAME: "Okta" }).OIDC_NAME).toBe("Okta");
  });

  it("refuse half a configuration, naming what is missing in one line without the values", () => {
    const msg = messageOf({ OIDC_ISSUER: full.OIDC_ISSUER, OIDC_CLIENT_SECRET: full.OIDC_CLIENT_SECRET });
    expect(msg).toBe(
      "invalid configuration: OIDC_CLIENT_ID: missing while OIDC_ISSUER and OIDC_CLIENT_SECRET are set (OIDC sign-in needs OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET, or none of them)",
    );
    expect(msg).not.toContain("s3cret");
    const one = messageOf({ OIDC_CLIENT_ID: "x" });
    expect(one).toMatch(/OIDC_ISSUER: missing while OIDC_CLIENT_ID is set/);
    expect(one).toMatch(/OIDC_CLIENT_SECRET: missing/);
  });

  it("want https for a remote issuer; plain http only on loopback", () => {
    expect(messageOf({ ...full, OIDC_ISSUER: "http://idp.example.com" })).toMatch(
      /OIDC_ISSUER: expected an https:\/\/ issuer \(plain http only on loopback\)/,
    );
    expect(messageOf({ ...full, OIDC_ISSUER: "http://127.0.0.1:9000" })).toBe("parsed");
    expect(messageOf({ ...full, OIDC_ISSUER: "not a url" })).toMatch(/OIDC_ISSUER: expected the issuer URL/);
  });
});
