import { generateToken } from "@flowplane/db";
import { seedAgentGroup, seedMembership, seedOrg, seedUser } from "@flowplane/db/seed";
import { createTestDatabase, type TestDatabase } from "@flowplane/db/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ACCOUNT_LOCKED,
  authorizeCredentials,
  LOCKOUT,
  TOTP_INVALID,
  TOTP_REQUIRED,
} from "../auth/credentials.ts";
import { createPasswordResetToken } from "../auth/password-reset.ts";
import { totp } from "../auth/totp.ts";
import { createContext } from "../trpc/context.ts";
import { createCaller } from "./_app.ts";
import { codeOf } from "./test-callers.ts";

// Accounts, organizations, invitations, API keys, audit and group configs, end to end through
// the real router on a fresh database.
let t: TestDatabase;
// TOTP secrets are sealed with the auth secret (read from the environment like the server does).
process.env.NEXTAUTH_SECRET ??= "integration-test-secret-0123456789";
const ORIGIN = "http://console.test";

/** A request with these exact claims (an old JWT keeps its old session version). */
async function withClaims(userId: string, sessionVersion: number) {
  return createCaller(await createContext({ db: t.db, claims: { userId, sessionVersion }, origin: ORIGIN }));
}
async function asUser(userId: string) {
  const u = await t.db.unsafe.user.findUniqueOrThrow({ where: { id: userId } });
  return createCaller(
    await createContext({ db: t.db, claims: { userId, sessionVersion: u.sessionVersion }, origin: ORIGIN }),
  );
}
const anonymous = async () => createCaller(await createContext({ db: t.db, claims: null, origin: ORIGIN }));

beforeAll(async () => {
  t = await createTestDatabase("console_accounts");
});
afterAll(async () => {
  await t?.drop();
});

describe("accounts", () => {
  it("signs up, refuses a duplicate email and a short password, then signs in", async () => {
    const anon = await anonymous();
    const user = await anon.account.signUp({ email: " New@Example.test ", password: "long enough pw" });
    expect(user.email).toBe("new@example.test");
    expect(await codeOf(anon.account.signUp({ email: "new@example.test", password: "long enough pw" }))).toBe(
      "CONFLICT",
    );
    expect(await codeOf(anon.account.signUp({ email: "other@example.test", password: "short" }))).toBe(
      "BAD_REQUEST",
    );
    expect(
      await authorizeCredentials(t.db, { email: "new@example.test", password: "long enough pw" }),
    ).toMatchObject({ id: user.id });
  });

  it("locks an account after repeated failures, even for the right password, and a reset unlocks it", async () => {
    const u = await seedUser(t.db, { email: "lock@example.test", password: "right password" });
    for (let i = 1; i < LOCKOUT.maxFailures; i++) {
      expect(await authorizeCredentials(t.db, { email: u.email, password: "wrong" })).toBeNull();
    }
    await expect(authorizeCredentials(t.db, { email: u.email, password: "wrong" })).rejects.toThrow(
      ACCOUNT_LOCKED,
    );
    await expect(authorizeCredentials(t.db, { email: u.email, password: "right password" })).rejects.toThrow(
      ACCOUNT_LOCKED,
    );
    const token = await createPasswordResetToken(t.db, u.email);
    expect(token).toBeTruthy();
    const anon = await anonymous();
    await anon.account.resetPassword({ token: token as string, password: "a brand new pw" });
    // One-time: the same link fails the second time.
    expect(
      await codeOf(anon.account.resetPassword({ token: token as string, password: "another new pw" })),
    ).toBe("BAD_REQUEST");
    expect(await authorizeCredentials(t.db, { email: u.email, password: "a brand new pw" })).toMatchObject({
      sessionVersion: 1,
    });
  });

  it("a reset request answers the same for unknown emails", async () => {
    const anon = await anonymous();
    expect(await anon.account.requestPasswordReset({ email: "nobody@example.test" })).toEqual({
      sent: true,
      expiresInMinutes: 30,
    });
  });

  it("changing the password and signing out everywhere end existing sessions at once", async () => {
    const u = await seedUser(t.db, { email: "change@example.test", password: "old password1" });
    const old = await asUser(u.id);
    expect(
      await codeOf(old.account.changePassword({ currentPassword: "wrong", newPassword: "new password1" })),
    ).toBe("BAD_REQUEST");
    await old.account.changePassword({ currentPassword: "old password1", newPassword: "new password1" });
    // Each request re-checks its JWT's session version: the old one (0) no longer works.
    expect(await codeOf((await withClaims(u.id, 0)).account.me())).toBe("UNAUTHORIZED");
    await (await withClaims(u.id, 1)).account.signOutEverywhere();
    expect(await codeOf((await withClaims(u.id, 1)).account.me())).toBe("UNAUTHORIZED");
  });
});

describe("two-factor sign-in (TOTP)", () => {
  it("turns on after a confirmed code, then sign-in needs the code, and the password turns it off", async () => {
    const secret = process.env.NEXTAUTH_SECRET as string;
    const u = await seedUser(t.db, { email: "totp@example.test", password: "totp password1" });
    const me = await asUser(u.id);
    const setup = await me.account.totpBegin();
    expect(setup.uri).toContain(`secret=${setup.secret}`);
    expect(
      await codeOf(me.account.totpConfirm({ code: "000000" === totp(setup.secret) ? "111111" : "000000" })),
    ).toBe("BAD_REQUEST");
    await me.account.totpConfirm({ code: totp(setup.secret) });
    expect((await me.account.me()).totpEnabled).toBe(true);
    const creds = { email: u.email, password: "totp password1" };
    await expect(authorizeCredentials(t.db, creds, secret)).rejects.toThrow(TOTP_REQUIRED);
    const wrong = totp(setup.secret, Date.now() + 10 * 60_000);
    await expect(authorizeCredentials(t.db, { ...creds, code: wrong }, secret)).rejects.toThrow(TOTP_INVALID);
    expect(await authorizeCredentials(t.db, { ...creds, code: totp(setup.secret) }, secret)).toMatchObject({
      id: u.id,
    });
    // A wrong password with a right code is just a wrong password.
    expect(
      await authorizeCredentials(t.db, { ...creds, password: "nope", code: totp(setup.secret) }, secret),
    ).toBeNull();
    expect(await codeOf(me.account.totpDisable({ password: "wrong" }))).toBe("BAD_REQUEST");
    await me.account.totpDisable({ password: "totp password1" });
    expect(await authorizeCredentials(t.db, creds, secret)).toMatchObject({ id: u.id });
  });
});

describe("organizations and members", () => {
  it("creates an org (caller is owner), renames it, refuses a taken slug, audits both", async () => {
    const u = await seedUser(t.db);
    const me = await asUser(u.id);
    const org = await me.org.create({ name: "Acme", slug: "acme" });
    expect(await me.org.list()).toEqual([{ ...org, role: "owner" }]);
    expect(await codeOf(me.org.create({ name: "Acme 2", slug: "acme" }))).toBe("CONFLICT");
    await me.org.rename({ orgSlug: "acme", name: "Acme Inc" });
    const audit = await me.audit.list({ orgSlug: "acme" });
    expect(audit.items.map((i) => i.action)).toEqual(["org.rename", "org.create"]);
    expect(audit.items[0]).toMatchObject({
      before: { name: "Acme" },
      after: { name: "Acme Inc" },
      actorLabel: u.email,
    });
  });

  it("invites by one-time link for that email only; the viewer can read but not write", async () => {
    const owner = await seedUser(t.db);
    const org = await (await asUser(owner.id)).org.create({ name: "Invite Co", slug: "invite-co" });
    const inv = await (await asUser(owner.id)).members.invite({
      orgSlug: org.slug,
      email: "Viewer@Invite.test",
      role: "viewer",
    });
    expect(inv.link).toMatch(new RegExp(`^${ORIGIN}/invite/fpi_`));
    const token = inv.link.split("/invite/")[1] as string;
    const stranger = await seedUser(t.db, { email: "stranger@invite.test" });
    expect(await codeOf((await asUser(stranger.id)).members.acceptInvitation({ token }))).toBe("FORBIDDEN");
    const viewer = await seedUser(t.db, { email: "viewer@invite.test" });
    expect(await (await asUser(viewer.id)).members.acceptInvitation({ token })).toEqual({
      orgSlug: "invite-co",
      role: "viewer",
    });
    expect(await codeOf((await asUser(viewer.id)).members.acceptInvitation({ token }))).toBe("NOT_FOUND");
    const v = await asUser(viewer.id);
    expect((await v.members.list({ orgSlug: org.slug })).map((m) => m.role).sort()).toEqual([
      "owner",
      "viewer",
    ]);
    expect(await codeOf(v.org.rename({ orgSlug: org.slug, name: "x" }))).toBe("FORBIDDEN");
    expect(await codeOf(v.audit.list({ orgSlug: org.slug }))).toBe("FORBIDDEN");
  });

  it("protects the last owner, keeps owner changes to owners, and removal ends the member's sessions", async () => {
    const org = await seedOrg(t.db);
    const owner = await seedUser(t.db);
    const admin = await seedUser(t.db);
    const editor = await seedUser(t.db);
    await seedMembership(t.db, { orgId: org.id, userId: owner.id, role: "owner" });
    await seedMembership(t.db, { orgId: org.id, userId: admin.id, role: "admin" });
    await seedMembership(t.db, { orgId: org.id, userId: editor.id, role: "editor" });
    const asOwner = await asUser(owner.id);
    const asAdmin = await asUser(admin.id);
    expect(
      await codeOf(asOwner.members.changeRole({ orgSlug: org.slug, userId: owner.id, role: "admin" })),
    ).toBe("BAD_REQUEST");
    expect(await codeOf(asOwner.members.remove({ orgSlug: org.slug, userId: owner.id }))).toBe("BAD_REQUEST");
    expect(
      await codeOf(asAdmin.members.changeRole({ orgSlug: org.slug, userId: editor.id, role: "owner" })),
    ).toBe("FORBIDDEN");
    expect(await codeOf(asAdmin.members.remove({ orgSlug: org.slug, userId: owner.id }))).toBe("FORBIDDEN");
    expect(
      await codeOf(asAdmin.members.invite({ orgSlug: org.slug, email: "o@x.test", role: "owner" })),
    ).toBe("FORBIDDEN");
    await asAdmin.members.remove({ orgSlug: org.slug, userId: editor.id });
    expect(await codeOf((await withClaims(editor.id, 0)).org.list())).toBe("UNAUTHORIZED");
    expect(await (await asUser(editor.id)).org.list()).toEqual([]);
  });

  it("deleting needs the slug typed, hides the org at once, and keeps its rows until the grace period ends", async () => {
    const owner = await seedUser(t.db);
    const me = await asUser(owner.id);
    await me.org.create({ name: "Doomed", slug: "doomed" });
    expect(await codeOf(me.org.delete({ orgSlug: "doomed", confirmSlug: "nope" }))).toBe("BAD_REQUEST");
    const exported = await me.org.export({ orgSlug: "doomed" });
    expect(exported).toMatchObject({
      organization: { slug: "doomed" },
      members: [{ role: "owner" }],
      groups: [],
    });
    const { deleteAfter } = await me.org.delete({ orgSlug: "doomed", confirmSlug: "doomed" });
    expect(await me.org.list()).toEqual([]);
    expect(await codeOf(me.org.overview({ orgSlug: "doomed" }))).toBe("NOT_FOUND");
    // The rows stay for the grace period; the controller's purge job removes them after
    // (apps/controller/test/org-purge.integration.test.ts).
    const kept = await t.db.unsafe.organization.findUniqueOrThrow({ where: { slug: "doomed" } });
    expect(kept.deleteAfter?.toISOString()).toBe(deleteAfter);
  });
});

describe("API keys", () => {
  it("is shown once, acts with its role over headers, is marked used, and stops at revoke", async () => {
    const owner = await seedUser(t.db);
    const me = await asUser(owner.id);
    const org = await me.org.create({ name: "Keys", slug: "keys" });
    const key = await me.apiKeys.create({ orgSlug: org.slug, name: "ci", role: "editor" });
    expect(key.token).toMatch(/^fpk_/);
    const viaKey = async () =>
      createCaller(
        await createContext({
          db: t.db,
          claims: null,
          headers: new Headers({ authorization: `Bearer ${key.token}`, "x-flowplane-org": "keys" }),
        }),
      );
    const group = await (await viaKey()).groups.create({ name: "from-script" });
    expect(group.currentRevision).toBe(1);
    expect(await codeOf((await viaKey()).apiKeys.list({}))).toBe("FORBIDDEN");
    expect(await codeOf((await viaKey()).org.list())).toBe("FORBIDDEN");
    const listed = await me.apiKeys.list({ orgSlug: org.slug });
    expect(listed[0]).toMatchObject({ prefix: key.prefix, role: "editor", revokedAt: null });
    expect(listed[0]?.lastUsedAt).not.toBeNull();
    expect(JSON.stringify(listed)).not.toContain(key.token);
    const audit = await me.audit.list({ orgSlug: org.slug, action: "groups." });
    expect(audit.items[0]).toMatchObject({ actorType: "api_key", actorLabel: `key ci (${key.prefix})` });
    await me.apiKeys.revoke({ orgSlug: org.slug, keyId: key.id });
    expect(await codeOf((await viaKey()).groups.list({}))).toBe("UNAUTHORIZED");
  });
});

describe("audit log", () => {
  it("filters by action prefix, actor, target and time, and paginates without gaps or repeats", async () => {
    const owner = await seedUser(t.db);
    const me = await asUser(owner.id);
    const org = await me.org.create({ name: "Audit", slug: "audit-co" });
    for (let i = 0; i < 7; i++) await me.org.rename({ orgSlug: org.slug, name: `Audit ${i}` });
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await me.audit.list({ orgSlug: org.slug, limit: 3, ...(cursor ? { cursor } : {}) });
      seen.push(...page.items.map((i) => i.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toHaveLength(8);
    expect(new Set(seen).size).toBe(8);
    expect((await me.audit.list({ orgSlug: org.slug, action: "org.create" })).items).toHaveLength(1);
    expect((await me.audit.list({ orgSlug: org.slug, actor: owner.email })).items).toHaveLength(8);
    expect((await me.audit.list({ orgSlug: org.slug, actor: "someone@else.test" })).items).toHaveLength(0);
    expect((await me.audit.list({ orgSlug: org.slug, target: org.id })).items).toHaveLength(8);
    const future = new Date(Date.now() + 60_000).toISOString();
    expect((await me.audit.list({ orgSlug: org.slug, from: future })).items).toHaveLength(0);
  });
});

describe("agent groups and enrolment", () => {
  it("a transaction on the scoped client stays scoped (config saves rely on it)", async () => {
    const a = await seedOrg(t.db);
    const b = await seedOrg(t.db);
    await seedAgentGroup(t.db, a.id);
    await seedAgentGroup(t.db, b.id);
    const rows = await t.db.forOrg(a.id).$transaction((tx) => tx.agentGroup.findMany());
    expect(rows.map((r) => r.orgId)).toEqual([a.id]);
  });

  it("validates configs, versions them, diffs two revisions and rolls back as a new revision", async () => {
    const org = await seedOrg(t.db);
    const owner = await seedUser(t.db);
    await seedMembership(t.db, { orgId: org.id, userId: owner.id, role: "owner" });
    const me = await asUser(owner.id);
    const g = await me.groups.create({
      orgSlug: org.slug,
      name: "edge",
      config: { limits: { maxCpuPct: 40 } },
    });
    expect(
      await codeOf(
        me.groups.saveConfig({
          orgSlug: org.slug,
          groupId: g.id,
          baseRevision: 1,
          config: { limits: { maxCpuPct: 900 } },
        }),
      ),
    ).toBe("BAD_REQUEST");
    await me.groups.saveConfig({
      orgSlug: org.slug,
      groupId: g.id,
      baseRevision: 1,
      config: { limits: { maxCpuPct: 20 } },
      comment: "tighter",
    });
    // A stale editor (still on revision 1) is told to reload rather than overwriting revision 2.
    expect(
      await codeOf(me.groups.saveConfig({ orgSlug: org.slug, groupId: g.id, baseRevision: 1, config: {} })),
    ).toBe("CONFLICT");
    // Concurrent saves on the same base: exactly one wins, the others get CONFLICT (never a 500).
    const racers = await Promise.all(
      [30, 31, 32].map((cpu) =>
        codeOf(
          me.groups.saveConfig({
            orgSlug: org.slug,
            groupId: g.id,
            baseRevision: 2,
            config: { limits: { maxCpuPct: cpu } },
          }),
        ),
      ),
    );
    expect(racers.sort()).toEqual(["CONFLICT", "CONFLICT", "OK"]);
    const diff = await me.groups.diff({ orgSlug: org.slug, groupId: g.id, from: 1, to: 2 });
    expect(diff.lines.filter((l) => l.op !== "same").map((l) => l.text.trim())).toEqual([
      '"maxCpuPct": 40,',
      '"maxCpuPct": 20,',
    ]);
    expect(
      (await me.groups.rollback({ orgSlug: org.slug, groupId: g.id, toRevision: 1, baseRevision: 3 }))
        .revision,
    ).toBe(4);
    const detail = await me.groups.get({ orgSlug: org.slug, groupId: g.id });
    expect(detail.history.map((h) => h.revision)).toEqual([4, 3, 2, 1]);
    expect(detail.history[0]?.comment).toBe("rollback to r1");
    expect(detail.configText).toContain('"maxCpuPct": 40');
    expect(
      (await me.groups.diff({ orgSlug: org.slug, groupId: g.id, from: 1, to: 4 })).lines.every(
        (l) => l.op === "same",
      ),
    ).toBe(true);
  });

  it("enrolment tokens are shown once with the agent command, listed by prefix, and revocable", async () => {
    const org = await seedOrg(t.db);
    const owner = await seedUser(t.db);
    await seedMembership(t.db, { orgId: org.id, userId: owner.id, role: "owner" });
    const group = await seedAgentGroup(t.db, org.id, { name: "default" });
    const me = await asUser(owner.id);
    const tok = await me.enrollment.create({
      orgSlug: org.slug,
      groupId: group.id,
      name: "lab",
      expiresInHours: 2,
    });
    expect(tok.command).toBe(
      `npx flowplane-agent run --interface eth0 --controller http://console.test:7120 --token ${tok.token}`,
    );
    const listed = await me.enrollment.list({ orgSlug: org.slug });
    expect(listed[0]).toMatchObject({ prefix: tok.prefix, groupName: "default", status: "active" });
    await me.enrollment.revoke({ orgSlug: org.slug, tokenId: tok.id });
    expect((await me.enrollment.list({ orgSlug: org.slug }))[0]?.status).toBe("revoked");
    // Another org's group cannot be targeted: it is simply not found.
    const foreign = await seedAgentGroup(t.db, (await seedOrg(t.db)).id);
    expect(
      await codeOf(
        me.enrollment.create({ orgSlug: org.slug, groupId: foreign.id, name: "x", expiresInHours: 1 }),
      ),
    ).toBe("NOT_FOUND");
    expect(generateToken("enrol").token).not.toBe(tok.token);
  });
});
