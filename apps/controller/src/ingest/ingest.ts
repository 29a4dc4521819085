import type { Logger } from "@flowplane/core/log";
import { type TIngestResponse, type TIngestTable, ZIngestBatch } from "@flowplane/protocol";
import type { Redis } from "ioredis";
import { AgentApiError, invalidBody } from "../agents/api-error.ts";
import type { TAuthenticatedAgent } from "../auth/agent-auth.ts";
import type { BatchLedger } from "./batch-ledger.ts";
import type { OrgRowQuota } from "./quota.ts";
import { meterUsage } from "./usage.ts";

/** How ingest asks a writer to store one batch. */
export type TWriteOptions = {
  /** Fills `agent_id` of rows that name none. */
  agentId?: string;
  /** ClickHouse insert_deduplication_token: the same batch written twice is stored once. */
  dedupToken?: string;
  /** The ledger's batch id: a coalescing writer journals it with the insert holding the rows. */
  batchId?: string;
  /** The rows were tagged already (ingest tags before writing): a tagging writer skips its pass. */
  tagged?: boolean;
};

/**
 * Writes validated rows of one org to one table; the shape of `recordRows` from
 * @flowplane/query/client (the controller binds it to its ClickHouse client).
 */
export type TRowWriter = (
  table: TIngestTable,
  orgId: string,
  rows: Record<string, unknown>[],
  opts?: TWriteOptions,
) => Promise<{ inserted: number; rejected: { index: number; error: string }[] }>;

export type TIngestOptions = { maxBatchRows: number };

// ── AutoTagging (apps/controller/src/tagging, docs/autotagging.md) ──
/** Sets tag id columns on rows in place; `agentId` gives the VPC context. */
export type TTagRows = (
  table: TIngestTable | string,
  orgId: string,
  agentId: string | undefined,
  rows: Record<string, unknown>[],
) => Promise<void>;
/** A writer made by `withTagging` carries its tagger. */
export type TTaggingRowWriter = TRowWriter & { tagRows?: TTagRows };
// ── end AutoTagging ──

/** Per-request extras: the quota, usage metering and the body size for it. */
export type TIngestExtras = { quota?: OrgRowQuota; redis?: Redis; bodyBytes?: number };

/** Per org: another org's agent choosing the same batch id must not make ClickHouse drop ours. */
export function batchDedupToken(orgId: string, batchId: string): string {
  return `${orgId}/${batchId}`;
}

/** Columns an agent may not choose: the credential decides them. */
const OWNER_COLUMNS = [
  ["org_id", "orgId", "organization"],
  ["agent_id", "agentId", "agent"],
] as const;

/**
 * Rows claiming another org or agent are rejected here and never reach the writer; rows that
 * name none are written for the authenticated agent's org by the writer.
 */
export function splitForeignRows(
  rows: unknown[],
  agent: TAuthenticatedAgent,
): { own: { index: number; row: Record<string, unknown> }[]; rejected: { index: number; error: string }[] } {
  const own: { index: number; row: Record<string, unknown> }[] = [];
  const rejected: { index: number; error: string }[] = [];
  rows.forEach((value, index) => {
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      rejected.push({ index, error: "row: expected an object" });
      return;
    }
    const row = value as Record<string, unknown>;
    for (const [column, key, what] of OWNER_COLUMNS) {
      const claimed = row[column];
      if (claimed !== undefined && claimed !== null && String(claimed).toLowerCase() !== agent[key]) {
        rejected.push({
          index,
          error: `${column}: the row names another ${what}; an agent writes only its own rows`,
        });
        return;
      }
    }
    own.push({ index, row });
  });
  return { own, rejected };
}

/**
 * One ingest batch: envelope checks, foreign rows out, the rest to ClickHouse through `write`,
 * exactly once per (org, batchId) thanks to the ledger.
 */
export async function ingestBatch(
  deps: { ledger: BatchLedger; write: TRowWriter; log: Logger; options: TIngestOptions } & TIngestExtras,
  agent: TAuthenticatedAgent,
  body: unknown,
): Promise<TIngestResponse> {
  const rowsField = (body as { rows?: unknown } | null)?.rows;
  if (Array.isArray(rowsField) && rowsField.length > deps.options.maxBatchRows) {
    throw new AgentApiError(
      "PAYLOAD_TOO_LARGE",
      `batch has ${rowsField.length} rows; the limit is ${deps.options.maxBatchRows} rows per batch: split it`,
    );
  }
  const parsed = ZIngestBatch.safeParse(body);
  if (!parsed.success) throw invalidBody("ingest batch", parsed.error);
  const batch = parsed.data;
  if (batch.agentId !== agent.agentId) {
    throw new AgentApiError(
      "FORBIDDEN",
      "agentId does not match the credential: an agent sends only its own batches",
    );
  }

  const claim = await deps.ledger.claim(agent.orgId, batch.batchId).catch((err: unknown) => {
    // Without the ledger a replay cannot be recognised: refuse rather than risk writing twice.
    deps.log.error({ err, orgId: agent.orgId, batchId: batch.batchId }, "ingest batch ledger unavailable");
    throw new AgentApiError(
      "UNAVAILABLE",
      "ingest cannot check batch ids right now: retry the same batch later",
      {},
      2,
    );
  });
  if (claim.kind === "done") {
    return { batchId: batch.batchId, ...claim.outcome, duplicate: true };
  }
  if (claim.kind === "in-progress") {
    throw new AgentApiError(
      "TOO_MANY_REQUESTS",
      "this batch is being written by another request: retry shortly",
      {},
      1,
    );
  }

  const stopKeepAlive = deps.ledger.keepAlive(agent.orgId, batch.batchId);
  let written = false;
  try {
    const { own, rejected } = splitForeignRows(batch.rows, agent);
    const allowed = deps.quota ? await deps.quota.take(agent.orgId, own.length) : { ok: true as const };
    if (!allowed.ok) {
      throw new AgentApiError(
        "TOO_MANY_REQUESTS",
        `the organization is over its ingest quota of ${deps.quota?.rowsPerS} rows/s: retry after the delay`,
        {},
        allowed.retryAfterS,
      );
    }
    let accepted = 0;
    if (own.length > 0) {
      const rows = own.map((o) => o.row);
      // ── AutoTagging: tag the parsed rows in place, once. ──
      const tagRows = (deps.write as TTaggingRowWriter).tagRows;
      if (tagRows) await tagRows(batch.table, agent.orgId, agent.agentId, rows);
      // The rows as parsed, not copies: owner columns come from the credential (the writer writes
      // `orgId`, and fills the agent where a row names none; splitForeignRows refused the rest).
      const result = await deps.write(batch.table, agent.orgId, rows, {
        agentId: agent.agentId,
        // A node that died mid-insert leaves the ledger claim pending and the outcome unknown; the
        // retry carries the same token, so ClickHouse drops it if the first insert landed.
        dedupToken: batchDedupToken(agent.orgId, batch.batchId),
        batchId: batch.batchId,
        tagged: tagRows !== undefined,
      });
      written = true;
      accepted = result.inserted;
      for (const r of result.rejected) {
        const original = own[r.index];
        rejected.push({ index: original ? original.index : r.index, error: r.error });
      }
    }
    rejected.sort((a, b) => a.index - b.index);
    const outcome = { accepted, rejected };
    // Stopped before `done`: a late refresh must not shorten the done record's TTL. (Same Redis
    // connection, so a refresh already sent is applied before the SET that follows.)
    stopKeepAlive();
    await deps.ledger.done(agent.orgId, batch.batchId, outcome);
    await deps.ledger.countStored(agent.agentId, accepted).catch(() => {}); // balancing input only
    if (deps.redis) {
      await meterUsage(deps.redis, agent.orgId, { rows: accepted, bytes: deps.bodyBytes ?? 0 }).catch((err) =>
        deps.log.warn({ err, orgId: agent.orgId }, "usage metering failed"),
      );
    }
    return { batchId: batch.batchId, ...outcome };
  } catch (err) {
    // Stored but not recorded (Redis failed): keep the claim, so the replay after its TTL is written
    // with the same dedup token and dropped by ClickHouse, rather than freed and written again.
    if (!written) await deps.ledger.release(agent.orgId, batch.batchId).catch(() => {});
    if (err instanceof AgentApiError) throw err;
    deps.log.error(
      { err, orgId: agent.orgId, agentId: agent.agentId, batchId: batch.batchId, table: batch.table },
      "ingest write failed",
    );
    throw new AgentApiError(
      "UNAVAILABLE",
      "telemetry store did not take the batch: retry the same batch later",
      {},
      2,
    );
  } finally {
    stopKeepAlive();
  }
}
