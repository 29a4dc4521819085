import type { Logger } from "@flowplane/core/log";
import type { Db } from "@flowplane/db/client";
import { openSecret, parseManual, type SecretsKey, type TSourceResource } from "@flowplane/db/clouds";
import type { ClickHouseClient } from "@flowplane/query/client";
import type { Redis } from "ioredis";
import { publishResourceTags } from "./publish.ts";
import { reconcileResources, type TReconcileResult } from "./reconcile.ts";
import { syncAgentHosts } from "./sources/agents.ts";
import { syncAws } from "./sources/aws.ts";
import { syncKubernetes } from "./sources/kubernetes.ts";

export type TCloudSyncDeps = {
  db: Db;
  key: SecretsKey;
  clickhouse?: ClickHouseClient;
  redis?: Redis;
  log?: Logger;
};

/** The longest last-error text kept: enough to act on, bounded so a huge body cannot bloat the row. */
const MAX_ERROR = 500;

/**
 * A source error as the console shows it: the SDK's code and message. Credentials never appear in
 * these (the SDKs do not echo them), and the sealed blob is never part of an error.
 */
function describeError(err: unknown): string {
  if (err && typeof err === "object") {
    const e = err as { name?: string; message?: string; code?: number | string; body?: unknown };
    const text = `${e.name && e.name !== "Error" ? `${e.name}: ` : ""}${e.message ?? String(err)}`;
    return text.slice(0, MAX_ERROR);
  }
  return String(err).slice(0, MAX_ERROR);
}

/**
 * One source's sync: read the account, run its source (each producing the same normalised list),
 * reconcile the model, record the outcome on the account (`lastSyncAt`, `lastError`), and publish
 * names and the new version when something changed. Throws after recording the error so the job
 * retries.
 */
export async function syncCloudAccount(
  deps: TCloudSyncDeps,
  orgId: string,
  accountId: string,
): Promise<TReconcileResult> {
  const scoped = deps.db.forOrg(orgId);
  const account = await scoped.cloudAccount.findUniqueOrThrow({ where: { id: accountId } });
  // Removed from the console after this job was queued: nothing to sync; the scan unschedules it.
  if (account.deletedAt) return { created: 0, updated: 0, deleted: 0, version: -1 };
  try {
    let resources: TSourceResource[];
    if (account.kind === "agents") resources = await syncAgentHosts(deps.db, orgId);
    else {
      const credentials = openSecret(deps.key, orgId, account.encryptedCredentials);
      if (account.kind === "aws") resources = await syncAws(credentials);
      else if (account.kind === "kubernetes") resources = await syncKubernetes(credentials, account.name);
      else resources = parseManual(credentials);
    }
    const result = await reconcileResources(deps.db, orgId, accountId, resources);
    await scoped.cloudAccount.update({
      where: { id: accountId },
      data: { lastSyncAt: new Date(), lastError: null },
    });
    if (result.created + result.updated + result.deleted > 0) {
      await publishResourceTags({
        db: deps.db,
        orgId,
        version: result.version,
        ...(deps.clickhouse ? { clickhouse: deps.clickhouse } : {}),
        ...(deps.redis ? { redis: deps.redis } : {}),
      });
    }
    deps.log?.info({ orgId, accountId, kind: account.kind, ...result }, "cloud account synced");
    return result;
  } catch (err) {
    const lastError = describeError(err);
    await scoped.cloudAccount.update({ where: { id: accountId }, data: { lastError } }).catch(() => {});
    deps.log?.warn({ orgId, accountId, kind: account.kind, error: lastError }, "cloud account sync failed");
    throw err;
  }
}
