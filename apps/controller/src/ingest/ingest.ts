import type { Logger } from "@flowplane/core/log";
import { type TIngestResponse, type TIngestTable, ZIngestBatch } from "@flowplane/protocol";
import type { EncodedRows } from "@flowplane/query/client";
import type { TTagColumn } from "@flowplane/query/native-block";
import type { Redis } from "ioredis";
import type { z } from "zod";
import { AgentApiError, invalidBody } from "../agents/api-error.ts";
import type { TAuthenticatedAgent } from "../auth/agent-auth.ts";
import type { BatchLedger } from "./batch-ledger.ts";
import type { OrgRowQuota } from "./quota.ts";

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
/**
 * Writes rows validated and encoded already (the compact path, ingest-tsv.ts), tagged before; the
 * coalescer's `writeEncoded`. `rejected` of the answer adds to the encoded rows' own.
 */
export type TEncodedWriter = (
  table: TIngestTable,
  orgId: string,
  encoded: EncodedRows,
  opts?: TWriteOptions,
) => Promise<{ inserted: number; rejected: { index: number; error: string }[] }>;
/**
 * A compact batch's tagging inputs as bytes: per input column, start/end pairs per row in `src`
 * (start -1: no value), from `TsvRows.fieldSpans`.
 */
export type TTagFieldInput = {
  count: number;
  src: Buffer;
  spans: Partial<Record<"client_ip" | "server_ip" | "tunnel_id", Int32Array>>;
};
/**
 * AutoTagging of a compact batch without row objects: the ids of each tag column it sets, per row
 * (0: none), or undefined when no row resolves. Same results as `TTagRows` on the rows.
 */
export type TTagFields = (
  table: TIngestTable | string,
  orgId: string,
  agentId: string,
  input: TTagFieldInput,
) => Promise<Map<string, Uint32Array> | undefined>;
/** A Native batch checked and completed by `validateNativeBlock` (ingest-native.ts). */
export type TNativeBlock = { payload: Buffer; rows: number; columns: string[]; signature: string };
/**
 * Writes one validated Native block; the coalescer's `writeNative` joins it to the next insert of
 * its table with the same signature (column names and types).
 */
export type TNativeWriter = (
  table: TIngestTable,
  orgId: string,
  block: TNativeBlock,
  opts?: TWriteOptions,
) => Promise<{ inserted: number }>;
/**
 * AutoTagging of a Native batch: the tag columns `validateNativeBlock` computes from the block's
 * address columns (16 bytes a row) and tunnel ids, or undefined when nothing can resolve (an org
 * without a resource model). Asynchronous only to load the org's dictionary; the ids are computed
 * during the validator's walk.
 */
export type TTagNative = (
  table: TIngestTable | string,
  orgId: string,
  agentId: string,
) => Promise<readonly TTagColumn[] | undefined>;
/** A writer made by `withTagging` carries its tagger; one that can take encoded rows says so. */
export type TTaggingRowWriter = TRowWriter & {
  tagRows?: TTagRows;
  tagFields?: TTagFields;
  tagNative?: TTagNative;
  writeEncoded?: TEncodedWriter;
  writeNative?: TNativeWriter;
};
// ── end AutoTagging ──

/**
 * Per-request extras: the quota, usage metering and the body size for it; `arrived`, called once
 * the batch's rows are handed to the writer (or it ends without), lets the coalescer flush without
 * lingering when no batch of this process is still on its way (in-flight.ts).
 */
export type TIngestExtras = {
  quota?: OrgRowQuota;
  redis?: Redis;
  bodyBytes?: number;
  arrived?: (() => void) | undefined;
};

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

export type TIngestDeps = {
  ledger: BatchLedger;
  write: TRowWriter;
  log: Logger;
  options: TIngestOptions;
} & TIngestExtras;
type TOutcome = { accepted: number; rejected: { index: number; error: string }[] };

/**
 * One ingest batch: envelope checks, foreign rows out, the rest to ClickHouse through `write`,
 * exactly once per (org, batchId) thanks to the ledger.
 */
export async function ingestBatch(
  deps: TIngestDeps,
  agent: TAuthenticatedAgent,
  body: unknown,
): Promise<TIngestResponse> {
  const rowsField = (body as { rows?: unknown } | null)?.rows;
  if (Array.isArray(rowsField)) checkRowLimit(rowsField.length, deps.options);
  const parsed = ZIngestBatch.safeParse(body);
  if (!parsed.success) throw invalidBody("ingest batch", parsed.error);
  const batch = parsed.data;
  checkAgent(batch.agentId, agent);
  return storeOnce(deps, agent, batch.batchId, batch.table, async () => {
    const { own, rejected } = splitForeignRows(batch.rows, agent);
    await takeQuota(deps, agent, own.length);
    let accepted = 0;
    if (own.length > 0) {
      const rows = own.map((o) => o.row);
      // ── AutoTagging: tag the parsed rows in place, once. ──
      const tagRows = (deps.write as TTaggingRowWriter).tagRows;
      if (tagRows) await tagRows(batch.table, agent.orgId, agent.agentId, rows);
      // The rows as parsed, not copies: owner columns come from the credential (the writer writes
      // `orgId`, and fills the agent where a row names none; splitForeignRows refused the rest).
      deps.arrived?.();
      const result = await deps.write(batch.table, agent.orgId, rows, {
        ...writeOptions(agent, batch.batchId),
        tagged: tagRows !== undefined,
      });
      accepted = result.inserted;
      for (const r of result.rejected) {
        const original = own[r.index];
        rejected.push({ index: original ? original.index : r.index, error: r.error });
      }
    }
    return { accepted, rejected };
  });
}

export function checkRowLimit(rows: number, options: TIngestOptions): void {
  if (rows > options.maxBatchRows) {
    throw new AgentApiError(
      "PAYLOAD_TOO_LARGE",
      `batch has ${rows} rows; the limit is ${options.maxBatchRows} rows per batch: split it`,
    );
  }
}

export function checkAgent(agentId: string, agent: TAuthenticatedAgent): void {
  if (agentId !== agent.agentId) {
    throw new AgentApiError(
      "FORBIDDEN",
      "agentId does not match the credential: an agent sends only its own batches",
    );
  }
}

/**
 * The JSON header line of a compact (TSV) or Native body, checked in the order both encodings
 * answer: a header that is not JSON, too many rows (413 before the schema's messages), the schema,
 * then the agent. Returns the header and where the payload starts (the body's end if no newline).
 */
export function readHeaderLine<S extends z.ZodType<{ agentId: string }>>(
  body: Buffer,
  schema: S,
  what: string,
  options: TIngestOptions,
  agent: TAuthenticatedAgent,
): { header: z.infer<S>; start: number; newline: boolean } {
  const nl = body.indexOf(10);
  let json: unknown;
  try {
    json = JSON.parse(body.toString("utf8", 0, nl < 0 ? body.length : nl));
  } catch {
    throw new AgentApiError("BAD_REQUEST", `${what}: the first line is not a JSON header`);
  }
  const rowCount = (json as { rows?: unknown } | null)?.rows;
  if (typeof rowCount === "number") checkRowLimit(rowCount, options);
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw invalidBody(`${what} header`, parsed.error);
  const header = parsed.data as z.infer<S>;
  checkAgent(header.agentId, agent);
  return { header, start: nl < 0 ? body.length : nl + 1, newline: nl >= 0 };
}

export async function takeQuota(deps: TIngestDeps, agent: TAuthenticatedAgent, rows: number): Promise<void> {
  const allowed = deps.quota ? await deps.quota.take(agent.orgId, rows) : { ok: true as const };
  if (!allowed.ok) {
    throw new AgentApiError(
      "TOO_MANY_REQUESTS",
      `the organization is over its ingest quota of ${deps.quota?.rowsPerS} rows/s: retry after the delay`,
      {},
      allowed.retryAfterS,
    );
  }
}

/** What every write of a batch carries: the agent, the batch's dedup token and its ledger id. */
export function writeOptions(agent: TAuthenticatedAgent, batchId: string): TWriteOptions {
  return {
    agentId: agent.agentId,
    // A node that died mid-insert leaves the ledger claim pending and the outcome unknown; the
    // retry carries the same token, so ClickHouse drops it if the first insert landed.
    dedupToken: batchDedupToken(agent.orgId, batchId),
    batchId,
  };
}

/**
 * The ledger around one batch's write, whatever its encoding: a replay is answered with the first
 * outcome, a batch being written elsewhere gets 429, and `write` (quota, tagging, the insert) runs
 * at most once per (org, batchId) while the claim is kept alive.
 */
export async function storeOnce(
  deps: TIngestDeps,
  agent: TAuthenticatedAgent,
  batchId: string,
  table: TIngestTable,
  write: () => Promise<TOutcome>,
): Promise<TIngestResponse> {
  const claim = await deps.ledger.claim(agent.orgId, batchId).catch((err: unknown) => {
    // Without the ledger a replay cannot be recognised: refuse rather than risk writing twice.
    deps.log.error({ err, orgId: agent.orgId, batchId }, "ingest batch ledger unavailable");
    throw new AgentApiError(
      "UNAVAILABLE",
      "ingest cannot check batch ids right now: retry the same batch later",
      {},
      2,
    );
  });
  if (claim.kind !== "claimed") deps.arrived?.(); // nothing of it goes to the writer
  if (claim.kind === "done") {
    return { batchId, ...claim.outcome, duplicate: true };
  }
  if (claim.kind === "in-progress") {
    throw new AgentApiError(
      "TOO_MANY_REQUESTS",
      "this batch is being written by another request: retry shortly",
      {},
      1,
    );
  }

  const stopKeepAlive = deps.ledger.keepAlive(agent.orgId, batchId);
  let written = false;
  try {
    const outcome = await write();
    written = true;
    outcome.rejected.sort((a, b) => a.index - b.index);
    // Stopped before `done`: a late refresh must not shorten the done record's TTL. (Same Redis
    // connection, so a refresh already sent is applied before the SET that follows.)
    stopKeepAlive();
    // The outcome, the balancer's stored-rows counter and (with `redis`) the usage meter: one
    // round trip. Only the outcome's failure fails the batch; the counters are best effort.
    const { countersFailed } = await deps.ledger.record(agent.orgId, batchId, outcome, {
      agentId: agent.agentId,
      usage: deps.redis ? { rows: outcome.accepted, bytes: deps.bodyBytes ?? 0 } : undefined,
    });
    if (countersFailed)
      deps.log.warn(
        { err: countersFailed, orgId: agent.orgId },
        "usage metering or stored-rows count failed",
      );
    return { batchId, ...outcome };
  } catch (err) {
    // Stored but not recorded (Redis failed): keep the claim, so the replay after its TTL is written
    // with the same dedup token and dropped by ClickHouse, rather than freed and written again.
    if (!written) await deps.ledger.release(agent.orgId, batchId).catch(() => {});
    if (err instanceof AgentApiError) throw err;
    deps.log.error(
      { err, orgId: agent.orgId, agentId: agent.agentId, batchId, table },
      "ingest write failed",
    );
    throw new AgentApiError(
      "UNAVAILABLE",
      "telemetry store did not take the batch: retry the same batch later",
      {},
      2,
    );
  } finally {
    deps.arrived?.();
    stopKeepAlive();
  }
}
