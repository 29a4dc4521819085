import { seedUser } from "@flowplane/db/seed";
import { createTestDatabase, type TestDatabase } from "@flowplane/db/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authorizeCredentials } from "./credentials.ts";
import {
  identityFromClaims,
  linkOidcUser,
  OIDC_EMAIL_NOT_VERIFIED,
  OIDC_NO_EMAIL,
  oidcAccountProvider,
  userOfOidcAccount,
} from "./oidc.ts";

// The account-linking rules of OIDC sign-in on a fresh database (the browser flow against a real
// OpenID provider is e2e/oidc.e2e.test.ts).
let t: TestDatabase;
const ISSUER = "https://idp.example.test/";
const PROVIDER = oidcAccountProvider(ISSUER);

beforeAll(async () => {
  t = await createTestDatabase("console_oidc");
});
afterAll(async () => {
  await t?.drop();
});

describe("identityFromClaims", () => {
  it("reads sub, a lower-cased email, email_verified as boolean or string, and a name", () => {
    expect(
      identityFromClaims(ISSUER, {
        sub: "a1",
        email: " Ann@Example.TEST ",
        email_verified: "true",
        name: "Ann",
      }),
    ).toEqual({
      provider: "oidc:https://idp.example.test",
      subject: "a1",
      email: "ann@example.test",
      emailVerified: true,
      name: "Ann",
    });
    const bare = identityFromClaims(ISSUER, { sub: "a2", email: "not-an-email", preferred_username: "ann" });
    expect(bare).toMatchObject({ email: undefined, emailVerified: false, name: "ann" });
    expect(identityFromClaims(ISSUER, { email: "x@example.test" })).toBeNull();
  });
});

describe("linkOidcUser", () => {
  it("creates a user on first sign-in and finds the same one by subject afterwards, whatever the email", async () => {
    const first = await linkOidcUser(t.db, {
      provider: PROVIDER,
      subject: "new-1",
      email: "new-one@example.test",
      emailVerified: true,
      name: "New One",
    });
    expect(first).toMatchObject({ ok: true, created: true, linked: true });
    if (!first.ok) throw new Error("unreachable");
    const row = await t.db.unsafe.user.findUniqueOrThrow({ where: { id: first.user.id } });
    expect(row).toMatchObject({ email: "new-one@example.test", name: "New One", passwordHash: null });
    expect(row.emailVerified).not.toBeNull();
    // The IdP changed the address: the subject still decides.
    const again = await linkOidcUser(t.db, {
      provider: PROVIDER,
      subject: "new-1",
      email: "renamed@example.test",
      emailVerified: true,
    });
    expect(again).toMatchObject({ ok: true, created: false, linked: false, user: { id: first.user.id } });
    expect((await userOfOidcAccount(t.db, PROVIDER, "new-1"))?.id).toBe(first.user.id);
    // The same subject at another issuer is someone else.
    expect(
      await userOfOidcAccount(t.db, oidcAccountProvider("https://other.example.test"), "new-1"),
    ).toBeNull();
  });

  it("links an existing password account only when the IdP verified the email", async () => {
    const owner = await seedUser(t.db, { email: "owner@example.test", password: "pw-owner-1" });
    const unverified = await linkOidcUser(t.db, {
      provider: PROVIDER,
      subject: "owner-sub",
      email: "owner@example.test",
      emailVerified: false,
    });
    expect(unverified).toEqual({ ok: false, reason: OIDC_EMAIL_NOT_VERIFIED });
    expect(await t.db.unsafe.account.count({ where: { userId: owner.id } })).toBe(0);

    const verified = await linkOidcUser(t.db, {
      provider: PROVIDER,
      subject: "owner-sub",
      email: "owner@example.test",
      emailVerified: true,
    });
    expect(verified).toMatchObject({ ok: true, created: false, linked: true, user: { id: owner.id } });
    expect(await t.db.unsafe.user.count({ where: { email: "owner@example.test" } })).toBe(1);
    // The password still works beside the IdP.
    expect(
      (await authorizeCredentials(t.db, { email: "owner@example.test", password: "pw-owner-1" }))?.id,
    ).toBe(owner.id);
  });

  it("creates an account from an unverified email when no account has it, and refuses no email", async () => {
    const r = await linkOidcUser(t.db, {
      provider: PROVIDER,
      subject: "unv-1",
      email: "unverified-new@example.test",
      emailVerified: false,
    });
    expect(r).toMatchObject({ ok: true, created: true });
    if (!r.ok) throw new Error("unreachable");
    expect((await t.db.unsafe.user.findUniqueOrThrow({ where: { id: r.user.id } })).emailVerified).toBeNull();
    expect(await linkOidcUser(t.db, { provider: PROVIDER, subject: "no-mail", emailVerified: true })).toEqual(
      {
        ok: false,
        reason: OIDC_NO_EMAIL,
      },
    );
  });

  it("makes one user when the first sign-in races itself", async () => {
    const identity = {
      provider: PROVIDER,
      subject: "race-1",
      email: "race@example.test",
      emailVerified: true,
    };
    const results = await Promise.all([linkOidcUser(t.db, identity), linkOidcUser(t.db, identity)]);
    const ids = results.map((r) => (r.ok ? r.user.id : r.reason));
    expect(ids[0]).toBe(ids[1]);
    expect(await t.db.unsafe.user.count({ where: { email: "race@example.test" } })).toBe(1);
    expect(
      await t.db.unsafe.account.count({ where: { provider: PROVIDER, providerAccountId: "race-1" } }),
    ).toBe(1);
  });
});
