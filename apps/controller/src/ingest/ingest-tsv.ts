import {
  INGEST_NATIVE_CONTENT_TYPE,
  INGEST_TSV_CONTENT_TYPE,
  INGEST_TSV_MEDIA_TYPE,
  INGEST_TSV_VERSION,
  type TIngestResponse,
  type TIngestTable,
  ZIngestTsvHeader,
} from "@flowplane/protocol";
import { TsvBatchError, TsvRows } from "@flowplane/query/client";
import { TAG_COLUMNS } from "@flowplane/query/rows";
import { AgentApiError } from "../agents/api-error.ts";
import type { TAuthenticatedAgent } from "../auth/agent-auth.ts";
import {
  readHeaderLine,
  storeOnce,
  type TIngestDeps,
  type TTagFieldInput,
  type TTaggingRowWriter,
  type TTagRows,
  takeQuota,
  writeOptions,
} from "./ingest.ts";

/**
 * POST /v1/ingest in the compact encoding (docs/agent-protocol.md, "Ingest wire format"): a JSON
 * header line, then the rows as TSV lines. The body stays one Buffer: fields are checked and
 * re-encoded straight into the insert payload (`TsvRows`, packages/query/src/record-tsv.ts), so no
 * row object is built; the owner columns are the credential's, never the agent's.
 */

/** The encodings this controller reads, for its refusals (with or without Native). */
export function readsEncodings(native = true): string {
  return native
    ? `application/json, ${INGEST_TSV_CONTENT_TYPE} and ${INGEST_NATIVE_CONTENT_TYPE}`
    : `application/json or ${INGEST_TSV_CONTENT_TYPE}`;
}

/** Answer for a body in an encoding this controller does not read (400, with what it reads). */
export function unsupportedEncoding(contentType: string | undefined): AgentApiError {
  return new AgentApiError(
    "BAD_REQUEST",
    `unsupported ingest encoding '${contentType ?? "none"}': this controller reads ${readsEncodings()}`,
  );
}

/** Whether `contentType` is the compact encoding at a version this controller reads. */
export function isTsvBatch(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const [type, ...params] = contentType.split(";").map((p) => p.trim().toLowerCase());
  if (type !== INGEST_TSV_MEDIA_TYPE) return false;
  const version = params.find((p) => p.startsWith("version="))?.slice("version=".length);
  return version === String(INGEST_TSV_VERSION);
}

/** Columns the tagger reads (see ResourceTagger.tagRows); the ones it sets are TAG_COLUMNS. */
const TAG_INPUTS = ["client_ip", "server_ip", "tunnel_id"] as const;

export async function ingestTsvBatch(
  deps: TIngestDeps,
  agent: TAuthenticatedAgent,
  body: Buffer,
): Promise<TIngestResponse> {
  const { header, start } = readHeaderLine(
    body,
    ZIngestTsvHeader,
    "compact ingest batch",
    deps.options,
    agent,
  );
  let rows: TsvRows;
  try {
    rows = new TsvRows(header.table, header.columns, body, start, header.rows);
  } catch (err) {
    if (err instanceof TsvBatchError)
      throw new AgentApiError("BAD_REQUEST", `compact ingest batch: ${err.message}`);
    throw err;
  }
  // The rows' field positions go back to their pool as soon as the payload is encoded (or the
  // batch turns out to be a replay): the next batch reuses them instead of allocating its own.
  try {
    return await storeOnce(deps, agent, header.batchId, header.table, () =>
      writeRows(deps, agent, header, rows),
    );
  } finally {
    rows.release();
  }
}

async function writeRows(
  deps: TIngestDeps,
  agent: TAuthenticatedAgent,
  header: { batchId: string; table: TIngestTable },
  rows: TsvRows,
): Promise<{ accepted: number; rejected: { index: number; error: string }[] }> {
  await takeQuota(deps, agent, rows.count);
  const writer = deps.write as TTaggingRowWriter;
  const opts = { ...writeOptions(agent, header.batchId), tagged: true };
  if (!writer.writeEncoded) {
    // A writer without an encoded path (tests, benches): the lines as row objects, as JSON sends.
    const { own, rejected } = rows.toRows();
    rows.release();
    const list = own.map((o) => o.row);
    if (writer.tagRows) await writer.tagRows(header.table, agent.orgId, agent.agentId, list);
    deps.arrived?.();
    const result =
      list.length > 0
        ? await deps.write(header.table, agent.orgId, list, {
            ...opts,
            tagged: writer.tagRows !== undefined,
          })
        : { inserted: 0, rejected: [] };
    for (const r of result.rejected) rejected.push({ index: own[r.index]?.index ?? r.index, error: r.error });
    return { accepted: result.inserted, rejected };
  }
  const overrides = writer.tagFields
    ? await writer.tagFields(header.table, agent.orgId, agent.agentId, tagInput(rows))
    : writer.tagRows
      ? await tagOverrides(writer.tagRows, header.table, agent, rows)
      : undefined;
  const encoded = rows.encode(agent.orgId, agent.agentId, overrides);
  rows.release();
  deps.arrived?.();
  const result =
    encoded.rows > 0 ? await writer.writeEncoded(header.table, agent.orgId, encoded, opts) : undefined;
  return {
    accepted: result?.inserted ?? 0,
    rejected: [...encoded.rejected, ...(result?.rejected ?? [])],
  };
}

/**
 * The tagger's inputs as byte spans of the body (`TTagFields`), each read when the tagger first
 * asks for it: for an org whose dictionary resolves nothing it never does.
 */
function tagInput(rows: TsvRows): TTagFieldInput {
  const spans: TTagFieldInput["spans"] = {};
  for (const name of TAG_INPUTS) {
    const field = rows.fieldIndex(name);
    if (field < 0) continue;
    let span: Int32Array | undefined;
    Object.defineProperty(spans, name, { enumerable: true, get: () => (span ??= rows.fieldSpans(field)) });
  }
  return { count: rows.count, src: rows.source, spans };
}

/**
 * AutoTagging for a writer whose tagger takes rows only: the tagger gets one small object per row holding only what it
 * reads (addresses, tunnel id), and the tag columns it sets come back as per-row ids (0: none)
 * that the encoder writes in place of the agent's value.
 */
async function tagOverrides(
  tagRows: TTagRows,
  table: TIngestTable,
  agent: TAuthenticatedAgent,
  rows: TsvRows,
): Promise<Map<string, Uint32Array> | undefined> {
  const inputs = TAG_INPUTS.map((name) => ({ name, field: rows.fieldIndex(name) })).filter(
    (i) => i.field >= 0,
  );
  if (!inputs.some((i) => i.name !== "tunnel_id")) return undefined;
  const texts = inputs.map((i) => ({ name: i.name, texts: rows.fieldTexts(i.field) }));
  const minis: Record<string, unknown>[] = new Array(rows.count);
  for (let r = 0; r < rows.count; r++) {
    const mini: Record<string, unknown> = {};
    for (const { name, texts: t } of texts) {
      const v = t[r];
      if (v !== undefined) mini[name] = name === "tunnel_id" ? Number(v) : v;
    }
    minis[r] = mini;
  }
  await tagRows(table, agent.orgId, agent.agentId, minis);
  const overrides = new Map<string, Uint32Array>();
  for (const column of Object.keys(TAG_COLUMNS)) {
    if (!(column in rows.def.columns)) continue;
    let ids: Uint32Array | undefined;
    for (let r = 0; r < rows.count; r++) {
      const id = minis[r]?.[column];
      if (typeof id === "number" && Number.isInteger(id) && id > 0 && id <= 4_294_967_295) {
        ids ??= new Uint32Array(rows.count);
        ids[r] = id;
      }
    }
    if (ids) overrides.set(column, ids);
  }
  return overrides;
}
