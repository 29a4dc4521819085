import { seedEnrollmentToken } from "@flowplane/db/seed";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { enrollBody, seedTenant, startHarness, type THarness } from "./harness.ts";

describe("POST /v1/agents/enroll", () => {
  let h: THarness;
  beforeAll(async () => {
    h = await startHarness("ctl_enroll");
  });
  afterAll(async () => {
    await h?.close();
  });

  it("a good token creates the agent in the token's org and group, hashed credential, one use, audit row", async () => {
    const { org, group, token } = await seedTenant(h, { syncIntervalS: 7 });
    const res = await h.app.inject({
      method: "POST",
      url: "/v1/agents/enroll",
      payload: enrollBody(token.token),
    });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({ orgId: org.id, groupId: group.id, syncIntervalS: 7 });
    expect(body.credential).toMatch(/^fpa_/);

    const agent = await h.tdb.db.forOrg(org.id).agent.findUniqueOrThrow({ where: { id: body.agentId } });
    expect(agent.groupId).toBe(group.id);
    expect(agent.hostname).toBe("node-1.example");
    expect(agent.ips).toEqual(["10.0.0.5", "fd00::5"]);
    expect(agent.os).toBe("linux 6.1 x64");
    expect(agent.credentialHash).toMatch(/^[0-9a-f]{64}$/);
    expect(agent.credentialHash).not.toContain(body.credential);
    const t = await h.tdb.db.forOrg(org.id).enrollmentToken.findUniqueOrThrow({ where: { id: token.id } });
    expect(t.uses).toBe(1);
    const audit = await h.tdb.db.forOrg(org.id).auditLog.findMany({ where: { action: "agent.enroll" } });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actorType: "agent", actorId: body.agentId, targetId: body.agentId });
    expect(JSON.stringify(audit[0]?.after)).not.toContain(token.token);
  });

  it("an unknown token is refused with 401 and a clear message", async () => {
    const res = await h.app.inject({
      method: "POST",
      url: "/v1/agents/enroll",
      payload: enrollBody("fpe_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
    });
    expect(res.statusCode).toBe(401);
    expect(res.json().error).toMatchObject({
      code: "UNAUTHORIZED",
      message: expect.stringMatching(/not recognised/),
    });
  });

  it("a revoked token is refused and names the revocation; no agent is created", async () => {
    const { org, token } = await seedTenant(h);
    await h.tdb.db
      .forOrg(org.id)
      .enrollmentToken.update({ where: { id: token.id }, data: { revokedAt: new Date() } });
    const res = await h.app.inject({
      method: "POST",
      url: "/v1/agents/enroll",
      payload: enrollBody(token.token),
    });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.message).toMatch(/revoked/);
    expect(await h.tdb.db.forOrg(org.id).agent.count()).toBe(0);
  });

  it("an expired token is refused and says when it expired", async () => {
    const { org, group } = await seedTenant(h);
    const expired = await seedEnrollmentToken(h.tdb.db, org.id, group.id, {
      expiresAt: new Date(Date.now() - 60_000),
    });
    const res = await h.app.inject({
      method: "POST",
      url: "/v1/agents/enroll",
      payload: enrollBody(expired.token),
    });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.message).toMatch(/expired at \d{4}-/);
  });

  it("a token used up to its limit is refused, also when agents race for the last use", async () => {
    const { org, group } = await seedTenant(h);
    const limited = await seedEnrollmentToken(h.tdb.db, org.id, group.id, { maxUses: 2 });
    const results = await Promise.all(
      [1, 2, 3, 4].map(() =>
        h.app.inject({ method: "POST", url: "/v1/agents/enroll", payload: enrollBody(limited.token) }),
      ),
    );
    const codes = results.map((r) => r.statusCode).sort();
    expect(codes).toEqual([201, 201, 401, 401]);
    expect(results.find((r) => r.statusCode === 401)?.json().error.message).toMatch(
      /used its 2 allowed times/,
    );
    expect(await h.tdb.db.forOrg(org.id).agent.count()).toBe(2);
  });

  it("a malformed request gets 400 with the zod issue paths", async () => {
    const { token } = await seedTenant(h);
    const res = await h.app.inject({
      method: "POST",
      url: "/v1/agents/enroll",
      payload: enrollBody(token.token, { ips: ["not-an-ip"], hostname: "" }),
    });
    expect(res.statusCode).toBe(400);
    const paths = res
      .json()
      .error.issues.map((i: { path: string }) => i.path)
      .sort();
    expect(paths).toEqual(["hostname", "ips.0"]);
  });

  it("an agent of an unsupported protocol version gets 426 with the supported range, not a crash", async () => {
    const { token } = await seedTenant(h);
    const res = await h.app.inject({
      method: "POST",
      url: "/v1/agents/enroll",
      payload: enrollBody(token.token, { protocolVersion: 99, unknownNewField: { a: 1 } }),
    });
    expect(res.statusCode).toBe(426);
    expect(res.json().error).toMatchObject({
      code: "UNSUPPORTED_PROTOCOL",
      supportedProtocol: { min: 1, max: 1 },
    });
  });
});
