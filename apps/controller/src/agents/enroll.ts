import { generateToken, hashToken } from "@flowplane/db";
import type { Db } from "@flowplane/db/client";
import { PROTOCOL_VERSION, type TEnrollResponse, ZEnrollRequest } from "@flowplane/protocol";
import { AgentApiError, invalidBody } from "./api-error.ts";
import { assertProtocolVersion } from "./protocol-version.ts";

/**
 * The one unscoped lookup of enrolment: the token is all the caller has, so its org is found from
 * the token's hash. Everything after it runs on the token org's scoped client.
 */
export function unsafeFindEnrollmentTokenByHash(db: Db, tokenHash: string) {
  return db.unsafe.enrollmentToken.findUnique({
    where: { tokenHash },
    include: { organization: { select: { deletedAt: true } } },
  });
}

/**
 * Enrols an agent: checks the token, creates the agent in the token's org and group with a fresh
 * credential (only its hash is stored), counts the use and writes an audit row, in one transaction.
 */
export async function enrollAgent(
  db: Db,
  body: unknown,
  meta: { ip?: string } = {},
): Promise<TEnrollResponse> {
  assertProtocolVersion(body, false);
  const parsed = ZEnrollRequest.safeParse(body);
  if (!parsed.success) throw invalidBody("enrolment request", parsed.error);
  const req = parsed.data;

  const token = await unsafeFindEnrollmentTokenByHash(db, hashToken(req.enrollmentToken));
  const now = new Date();
  // Each refusal says which condition failed: the operator fixes a revoked token differently from
  // an expired one. Unknown tokens say nothing about other orgs.
  if (!token)
    throw new AgentApiError("UNAUTHORIZED", "enrolment token not recognised: copy it again from the console");
  if (token.organization.deletedAt)
    throw new AgentApiError(
      "UNAUTHORIZED",
      `enrolment token ${token.prefix}… belongs to a deleted organization`,
    );
  if (token.revokedAt) {
    throw new AgentApiError(
      "UNAUTHORIZED",
      `enrolment token ${token.prefix}… was revoked: create a new one in the console`,
    );
  }
  if (token.expiresAt <= now) {
    throw new AgentApiError(
      "UNAUTHORIZED",
      `enrolment token ${token.prefix}… expired at ${token.expiresAt.toISOString()}: create a new one in the console`,
    );
  }
  const exhausted = () =>
    new AgentApiError(
      "UNAUTHORIZED",
      `enrolment token ${token.prefix}… has been used its ${token.maxUses} allowed times: create a new one`,
    );
  if (token.maxUses !== null && token.uses >= token.maxUses) throw exhausted();

  const orgDb = db.forOrg(token.orgId);
  const credential = generateToken("agent");
  const agent = await orgDb.$transaction(async (tx) => {
    // Counted with the same conditions, so two agents racing for the last use cannot both win.
    const counted = await tx.enrollmentToken.updateMany({
      where: {
        id: token.id,
        revokedAt: null,
        expiresAt: { gt: now },
        ...(token.maxUses !== null ? { uses: { lt: token.maxUses } } : {}),
      },
      data: { uses: { increment: 1 } },
    });
    if (counted.count !== 1) throw exhausted();
    const group = await tx.agentGroup.findUniqueOrThrow({ where: { id: token.groupId } });
    const created = await tx.agent.create({
      data: {
        orgId: token.orgId,
        groupId: group.id,
        name: req.hostname,
        hostname: req.hostname,
        ips: req.ips,
        version: req.agentVersion,
        os: req.os,
        credentialHash: credential.hash,
        credentialIssuedAt: now,
        state: "pending",
      },
    });
    await tx.auditLog.create({
      data: {
        orgId: token.orgId,
        actorType: "agent",
        actorId: created.id,
        action: "agent.enroll",
        targetType: "agent",
        targetId: created.id,
        after: {
          hostname: req.hostname,
          ips: req.ips,
          agentVersion: req.agentVersion,
          os: req.os,
          groupId: group.id,
          enrollmentTokenId: token.id,
          enrollmentTokenPrefix: token.prefix,
        },
        ...(meta.ip ? { ip: meta.ip } : {}),
      },
    });
    return { id: created.id, groupId: group.id, syncIntervalS: group.syncIntervalS };
  });
  return {
    protocolVersion: PROTOCOL_VERSION,
    agentId: agent.id,
    orgId: token.orgId,
    groupId: agent.groupId,
    credential: credential.token,
    syncIntervalS: agent.syncIntervalS,
  };
}
