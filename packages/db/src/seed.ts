import { randomBytes } from "node:crypto";
import { ZAgentConfig } from "@flowplane/protocol";
import type { Db, PrismaClient } from "./client.ts";
import type { Prisma } from "./generated/prisma/client.ts";
import { hashPassword } from "./passwords.ts";
import type { TRole } from "./roles.ts";
import { generateToken } from "./tokens.ts";

/** Seeds and factories write across tenants by nature, so they use the unscoped client. */
type DbLike = Db | PrismaClient;
const raw = (db: DbLike): PrismaClient => ("unsafe" in db ? db.unsafe : db);
const suffix = () => randomBytes(4).toString("hex");

export const DEMO_ORG = { name: "Demo Corp", slug: "demo" } as const;
export const DEMO_EMAIL = "demo@flowplane.local";
export const DEFAULT_GROUP_NAME = "default";

/** Revision 1 of a new group: the protocol's defaults, so the seeded config is exactly what agents validate. */
export const DEFAULT_AGENT_CONFIG = ZAgentConfig.parse({});

export interface DemoSeed {
  orgId: string;
  userId: string;
  groupId: string;
  email: string;
  user: { id: string; email: string };
  /** Set only when this call created the user with a generated password: print it once, store it locally. */
  password?: string;
  createdUser: boolean;
}

/**
 * Idempotent demo data: org "Demo Corp" (slug demo), its owner demo@flowplane.local and a default
 * agent group at revision 1. An existing user keeps their password.
 */
export async function seedDemo(db: DbLike, options: { password?: string } = {}): Promise<DemoSeed> {
  const prisma = raw(db);
  const org = await prisma.organization.upsert({
    where: { slug: DEMO_ORG.slug },
    create: { ...DEMO_ORG },
    update: {},
  });
  let user = await prisma.user.findUnique({ where: { email: DEMO_EMAIL } });
  let generatedPassword: string | undefined;
  const createdUser = !user;
  if (!user) {
    if (!options.password) generatedPassword = randomBytes(12).toString("base64url");
    const password = options.password ?? (generatedPassword as string);
    user = await prisma.user.create({
      data: { email: DEMO_EMAIL, name: "Demo Owner", passwordHash: await hashPassword(password) },
    });
  }
  await prisma.membership.upsert({
    where: { orgId_userId: { orgId: org.id, userId: user.id } },
    create: { orgId: org.id, userId: user.id, role: "owner" },
    update: {},
  });
  const group = await seedAgentGroup(prisma, org.id, { name: DEFAULT_GROUP_NAME });
  return {
    orgId: org.id,
    userId: user.id,
    groupId: group.id,
    email: DEMO_EMAIL,
    user: { id: user.id, email: user.email },
    createdUser,
    ...(generatedPassword ? { password: generatedPassword } : {}),
  };
}

export async function seedOrg(db: DbLike, overrides: Partial<Prisma.OrganizationCreateInput> = {}) {
  const s = suffix();
  return raw(db).organization.create({ data: { name: `Org ${s}`, slug: `org-${s}`, ...overrides } });
}

/** A user; pass `password` to get a real argon2id hash (skipped otherwise: it costs ~20 ms). */
export async function seedUser(
  db: DbLike,
  overrides: Partial<Prisma.UserCreateInput> & { password?: string } = {},
) {
  const { password, ...data } = overrides;
  return raw(db).user.create({
    data: {
      email: `user-${suffix()}@example.test`,
      name: "Test User",
      ...(password ? { passwordHash: await hashPassword(password) } : {}),
      ...data,
    },
  });
}

export function seedMembership(db: DbLike, input: { orgId: string; userId: string; role: TRole }) {
  return raw(db).membership.create({ data: input });
}

/**
 * An agent group with a revision-1 config. Idempotent by (org, name): an existing group is returned
 * as it is, and given its first config if it has none.
 */
export async function seedAgentGroup(
  db: DbLike,
  orgId: string,
  overrides: { name?: string; syncIntervalS?: number; config?: Prisma.InputJsonValue } = {},
) {
  const prisma = raw(db);
  const name = overrides.name ?? `group-${suffix()}`;
  return prisma.$transaction(async (tx) => {
    const group = await tx.agentGroup.upsert({
      where: { orgId_name: { orgId, name } },
      create: { orgId, name, ...(overrides.syncIntervalS ? { syncIntervalS: overrides.syncIntervalS } : {}) },
      update: {},
    });
    if (group.currentRevision > 0) return group;
    await tx.agentGroupConfig.create({
      data: {
        orgId,
        groupId: group.id,
        revision: 1,
        config: overrides.config ?? DEFAULT_AGENT_CONFIG,
        comment: "initial",
      },
    });
    return tx.agentGroup.update({ where: { id: group.id }, data: { currentRevision: 1 } });
  });
}

/** An online agent; `credential` is its plain credential (only the hash is stored). */
export async function seedAgent(db: DbLike, orgId: string, groupId?: string) {
  const prisma = raw(db);
  const gid = groupId ?? (await seedAgentGroup(prisma, orgId)).id;
  const credential = generateToken("agent");
  const s = suffix();
  const agent = await prisma.agent.create({
    data: {
      orgId,
      groupId: gid,
      name: `agent-${s}`,
      hostname: `host-${s}`,
      ips: ["127.0.0.1"],
      version: "0.0.0-test",
      credentialHash: credential.hash,
      state: "online",
      lastSeenAt: new Date(),
    },
  });
  return { ...agent, credential: credential.token };
}

/** An enrolment token valid for a day; `token` is the plain value, returned this once. */
export async function seedEnrollmentToken(
  db: DbLike,
  orgId: string,
  groupId: string,
  overrides: { expiresAt?: Date; maxUses?: number | null; name?: string } = {},
) {
  const generated = generateToken("enrol");
  const row = await raw(db).enrollmentToken.create({
    data: {
      orgId,
      groupId,
      name: overrides.name ?? `token-${suffix()}`,
      prefix: generated.prefix,
      tokenHash: generated.hash,
      expiresAt: overrides.expiresAt ?? new Date(Date.now() + 24 * 3600_000),
      maxUses: overrides.maxUses ?? null,
    },
  });
  return { ...row, token: generated.token };
}
