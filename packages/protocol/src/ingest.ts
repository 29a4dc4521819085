import { z } from "zod";

/** ClickHouse tables an agent may write (the row shapes live in @flowplane/query/rows). */
export const INGEST_TABLES = [
  "l4_flow_log",
  "l7_flow_log",
  "network_metrics",
  "application_metrics",
] as const;
export const ZIngestTable = z.enum(INGEST_TABLES);
export type TIngestTable = z.infer<typeof ZIngestTable>;

/** Defaults the controller enforces; both are configurable on the controller. */
export const DEFAULT_MAX_BATCH_BYTES = 8 * 1024 * 1024;
export const DEFAULT_MAX_BATCH_ROWS = 50_000;

/**
 * POST /v1/ingest. Rows are validated one by one on the controller: the batch envelope must be
 * well-formed, but a bad row only rejects that row.
 */
export const ZIngestBatch = z.object({
  /** Made once per batch by the agent and kept across retries: a replay is answered, not written. */
  batchId: z.uuid(),
  agentId: z.uuid(),
  table: ZIngestTable,
  /**
   * Checked row by row by the controller (a bad row rejects only itself), so the envelope takes
   * anything here; a per-row record schema would also cost ~60 µs a row for nothing.
   */
  rows: z.array(z.unknown()).min(1).max(DEFAULT_MAX_BATCH_ROWS),
});
export type TIngestBatch = z.infer<typeof ZIngestBatch>;

export const ZRowRejection = z.object({ index: z.number().int().min(0), error: z.string() });

export const ZIngestResponse = z.object({
  batchId: z.uuid(),
  accepted: z.number().int().min(0),
  rejected: z.array(ZRowRejection),
  /** The batch was already written before: nothing was written this time. */
  duplicate: z.literal(true).optional(),
});
export type TIngestResponse = z.infer<typeof ZIngestResponse>;

/**
 * The compact ingest encoding (docs/agent-protocol.md, "Ingest wire format"): a JSON header line
 * (`ZIngestTsvHeader`), then one TabSeparated line per row with the header's columns in its order.
 * The controller validates and re-encodes each field straight into its insert without building row
 * objects. The version is part of the content type: a controller refuses a version it does not
 * know with 400 naming the ones it reads, and still takes `application/json` batches.
 */
export const INGEST_TSV_MEDIA_TYPE = "application/vnd.flowplane.ingest+tsv";
export const INGEST_TSV_VERSION = 1;
export const INGEST_TSV_CONTENT_TYPE = `${INGEST_TSV_MEDIA_TYPE}; version=${INGEST_TSV_VERSION}`;

export const ZIngestTsvHeader = z.object({
  batchId: z.uuid(),
  agentId: z.uuid(),
  table: ZIngestTable,
  /** Lines that follow the header: a body cut short is refused instead of half written. */
  rows: z.number().int().min(1).max(DEFAULT_MAX_BATCH_ROWS),
  /** Column names of each line, in order; never org_id / agent_id (the credential decides them). */
  columns: z
    .array(z.string().regex(/^[a-z_][a-z0-9_]*$/, "expected a column name"))
    .min(1)
    .max(256),
});
export type TIngestTsvHeader = z.infer<typeof ZIngestTsvHeader>;

/**
 * Native ingest (docs/agent-protocol.md, "Native blocks"): one JSON header line
 * (`ZIngestNativeHeader`, the TSV header without `columns`: the block names its own), a newline,
 * then one ClickHouse Native block of `rows` rows, which the controller checks column by column and
 * inserts as it came (plus the owner and tag columns). Only the tables of `INGEST_NATIVE_TABLES`
 * have a Native wire form; a controller answers another table (or a controller before it, any
 * Native body) with 400/415 naming the encodings it reads, and the agent sends that batch as TSV.
 */
export const INGEST_NATIVE_MEDIA_TYPE = "application/vnd.flowplane.ingest+native";
export const INGEST_NATIVE_VERSION = 1;
export const INGEST_NATIVE_CONTENT_TYPE = `${INGEST_NATIVE_MEDIA_TYPE}; version=${INGEST_NATIVE_VERSION}`;
/** Tables whose every column has a Native wire form (free text, Nullable and arrays have none yet). */
export const INGEST_NATIVE_TABLES = [
  "l4_flow_log",
  "network_metrics",
] as const satisfies readonly TIngestTable[];

export const ZIngestNativeHeader = z.object({
  batchId: z.uuid(),
  agentId: z.uuid(),
  table: ZIngestTable,
  /** The block's row count, repeated: a header and block that disagree are refused. */
  rows: z.number().int().min(1).max(DEFAULT_MAX_BATCH_ROWS),
});
export type TIngestNativeHeader = z.infer<typeof ZIngestNativeHeader>;
