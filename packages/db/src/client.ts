import { FlowplaneError } from "@flowplane/core/errors";
import { PrismaPg } from "@prisma/adapter-pg";
import { z } from "zod";
import { dbEnv } from "./env.ts";
import { PrismaClient } from "./generated/prisma/client.ts";
import { MODEL_SCOPE, type TModelScope } from "./tenancy.ts";

export type { PrismaClient };

const orgIdSchema = z.uuid();

/** Raised when code tries to leave its tenant: no/invalid org id, a foreign orgId, a platform model. */
export class TenantScopeError extends FlowplaneError {
  override name = "TenantScopeError";
  constructor(message: string) {
    super("FORBIDDEN", message);
  }
}

const READ_OPS = new Set([
  "findUnique",
  "findUniqueOrThrow",
  "findFirst",
  "findFirstOrThrow",
  "findMany",
  "count",
  "aggregate",
  "groupBy",
]);
// Operations whose `where` must stay a where-unique input: scoped by adding `orgId` beside the
// unique key (Prisma's extended where-unique filters), so a unique hit in another org is "not found".
const UNIQUE_WHERE_OPS = new Set(["findUnique", "findUniqueOrThrow", "update", "delete", "upsert"]);
const WHERE_OPS = new Set([
  ...READ_OPS,
  "update",
  "updateMany",
  "updateManyAndReturn",
  "delete",
  "deleteMany",
  "upsert",
]);
const CREATE_OPS = new Set(["create", "createMany", "createManyAndReturn"]);
const UPDATE_DATA_OPS = new Set(["update", "updateMany", "updateManyAndReturn"]);

type Args = Record<string, unknown> & { where?: Record<string, unknown>; data?: unknown };

function scopeWhere(
  where: Record<string, unknown> | undefined,
  key: string,
  value: unknown,
  unique: boolean,
  model: string,
) {
  const w = where ?? {};
  if (key in w && w[key] !== value) {
    throw new TenantScopeError(`${model}: the where clause names another organization`);
  }
  // Non-unique filters are wrapped in AND so no caller-supplied OR/NOT can widen them.
  return unique ? { ...w, [key]: value } : { AND: [w, { [key]: value }] };
}

function stampData(data: unknown, orgId: string, model: string): Record<string, unknown> {
  if (typeof data !== "object" || data === null) throw new TenantScopeError(`${model}: create without data`);
  const d = data as Record<string, unknown>;
  if ("orgId" in d && d.orgId !== orgId) {
    throw new TenantScopeError(`${model}: refusing to create a row in another organization`);
  }
  if ("organization" in d) {
    throw new TenantScopeError(`${model}: set orgId through forOrg, not through the organization relation`);
  }
  return { ...d, orgId };
}

function checkUpdateData(data: unknown, orgId: string, model: string) {
  const d = data as Record<string, unknown> | undefined;
  if (d && (("orgId" in d && d.orgId !== orgId) || "organization" in d)) {
    throw new TenantScopeError(`${model}: refusing to move a row to another organization`);
  }
}

/** Rewrites one query's arguments so it cannot see or touch rows of another organization. */
export function scopeArgs(model: string, operation: string, args: Args, orgId: string): Args {
  const scope = (MODEL_SCOPE as Record<string, TModelScope>)[model];
  const a: Args = { ...args };
  switch (scope) {
    case "tenant": {
      if (WHERE_OPS.has(operation))
        a.where = scopeWhere(a.where, "orgId", orgId, UNIQUE_WHERE_OPS.has(operation), model);
      if (operation === "create") a.data = stampData(a.data, orgId, model);
      else if (operation === "createMany" || operation === "createManyAndReturn") {
        a.data = Array.isArray(a.data)
          ? a.data.map((d) => stampData(d, orgId, model))
          : stampData(a.data, orgId, model);
      } else if (operation === "upsert") {
        a.create = stampData(a.create, orgId, model);
        checkUpdateData(a.update, orgId, model);
      } else if (UPDATE_DATA_OPS.has(operation)) checkUpdateData(a.data, orgId, model);
      else if (!WHERE_OPS.has(operation))
        throw new TenantScopeError(`${model}.${operation} is not supported on a scoped client`);
      return a;
    }
    case "organization": {
      if (CREATE_OPS.has(operation) || operation === "upsert" || operation.startsWith("delete")) {
        throw new TenantScopeError(`organization.${operation} is a platform operation: use db.unsafe`);
      }
      if (!WHERE_OPS.has(operation))
        throw new TenantScopeError(`${model}.${operation} is not supported on a scoped client`);
      a.where = scopeWhere(a.where, "id", orgId, UNIQUE_WHERE_OPS.has(operation), model);
      return a;
    }
    case "members": {
      if (!READ_OPS.has(operation))
        throw new TenantScopeError(`${model}.${operation}: users are read-only on a scoped client`);
      const member = { memberships: { some: { orgId } } };
      a.where = UNIQUE_WHERE_OPS.has(operation)
        ? { ...(a.where ?? {}), ...member }
        : { AND: [a.where ?? {}, member] };
      return a;
    }
    default:
      throw new TenantScopeError(
        `${model} is platform-level and not reachable through forOrg(): use db.unsafe`,
      );
  }
}

function assertOrgId(orgId: unknown): string {
  const parsed = orgIdSchema.safeParse(orgId);
  if (!parsed.success) {
    throw new TenantScopeError(
      orgId === undefined || orgId === null || orgId === ""
        ? "forOrg() needs an organization id: request code must not query without a tenant"
        : "forOrg() got a malformed organization id (expected a UUID)",
    );
  }
  return parsed.data.toLowerCase();
}

export function createScopedClient(client: PrismaClient, orgIdInput: string) {
  const orgId = assertOrgId(orgIdInput);
  return client.$extends({
    name: `flowplane-tenant`,
    query: {
      $allModels: {
        $allOperations({ model, operation, args, query }) {
          return query(scopeArgs(model, operation, (args ?? {}) as Args, orgId) as typeof args);
        },
      },
      // Raw SQL cannot be scoped automatically: it belongs to `unsafe`.
      $allOperations({ model, operation, args, query }) {
        if (!model)
          throw new TenantScopeError(`${operation} is not available on a scoped client: use db.unsafe`);
        return query(args);
      },
    },
  });
}

export type ScopedClient = ReturnType<typeof createScopedClient>;

export interface Db {
  /** The unscoped client. Only for sign-in, token-hash lookups, migrations/seeds and platform tables. */
  unsafe: PrismaClient;
  /** A client that only sees and writes rows of `orgId`; throws at once without a valid UUID. */
  forOrg(orgId: string): ScopedClient;
  disconnect(): Promise<void>;
}

// Building an extended client costs ~90 µs; requests of the same tenant reuse it (small LRU).
const SCOPED_CACHE_SIZE = 500;

export function createDb(url: string): Db {
  const unsafe = new PrismaClient({ adapter: new PrismaPg({ connectionString: url }) });
  const scoped = new Map<string, ScopedClient>();
  return {
    unsafe,
    forOrg: (orgId: string) => {
      const key = assertOrgId(orgId);
      let client = scoped.get(key);
      if (client) scoped.delete(key);
      else client = createScopedClient(unsafe, key);
      scoped.set(key, client);
      if (scoped.size > SCOPED_CACHE_SIZE) scoped.delete(scoped.keys().next().value as string);
      return client;
    },
    disconnect: () => unsafe.$disconnect(),
  };
}

const clients = new Map<string, Db>();

/** One client per database URL for the whole process (defaults to DATABASE_URL). */
export function getDb(url: string = dbEnv().DATABASE_URL): Db {
  let db = clients.get(url);
  if (!db) {
    const created = createDb(url);
    db = {
      ...created,
      disconnect: async () => {
        clients.delete(url);
        await created.disconnect();
      },
    };
    clients.set(url, db);
  }
  return db;
}
