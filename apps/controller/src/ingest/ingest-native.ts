import {
  INGEST_NATIVE_MEDIA_TYPE,
  INGEST_NATIVE_TABLES,
  INGEST_NATIVE_VERSION,
  type TIngestResponse,
  ZIngestNativeHeader,
} from "@flowplane/protocol";
import { validateNativeBlock } from "@flowplane/query/native-block";
import { AgentApiError } from "../agents/api-error.ts";
import type { TAuthenticatedAgent } from "../auth/agent-auth.ts";
import {
  readHeaderLine,
  storeOnce,
  type TIngestDeps,
  type TTaggingRowWriter,
  takeQuota,
  writeOptions,
} from "./ingest.ts";
import { readsEncodings } from "./ingest-tsv.ts";

/**
 * POST /v1/ingest as a ClickHouse Native block (docs/agent-protocol.md, "Native blocks"): a JSON
 * header line (`ZIngestNativeHeader`), then one block. The block is walked once by
 * `validateNativeBlock` (columns and types of the table, values the types do not bound, the owner
 * columns never the agent's) which appends org_id and agent_id from the credential and the tag id
 * columns, and the result joins the coalescer's next Native insert of its table and signature. A
 * bad block is refused whole (400 with the validator's reason): unlike TSV, no row is kept.
 */

const NATIVE_TABLES: ReadonlySet<string> = new Set(INGEST_NATIVE_TABLES);

/** Whether `contentType` is the Native encoding at a version this controller reads. */
export function isNativeBatch(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const [type, ...params] = contentType.split(";").map((p) => p.trim().toLowerCase());
  if (type !== INGEST_NATIVE_MEDIA_TYPE) return false;
  const version = params.find((p) => p.startsWith("version="))?.slice("version=".length);
  return version === String(INGEST_NATIVE_VERSION);
}

/**
 * A Native body this controller will not take for this table (no Native wire form) or at all (its
 * writer has no Native path): 400 naming the encodings that work, which an agent reads as "send it
 * as TSV" (the same answer a controller before Native gives any Native body).
 */
function notNative(why: string): AgentApiError {
  return new AgentApiError(
    "BAD_REQUEST",
    `unsupported ingest encoding: ${why}; send it as ${readsEncodings(false)}`,
  );
}

export async function ingestNativeBatch(
  deps: TIngestDeps,
  agent: TAuthenticatedAgent,
  body: Buffer,
): Promise<TIngestResponse> {
  const { header, start, newline } = readHeaderLine(
    body,
    ZIngestNativeHeader,
    "Native ingest batch",
    deps.options,
    agent,
  );
  if (!NATIVE_TABLES.has(header.table))
    throw notNative(
      `${header.table} has no Native wire form (Native carries ${INGEST_NATIVE_TABLES.join(", ")})`,
    );
  const writer = deps.write as TTaggingRowWriter;
  const writeNative = writer.writeNative;
  if (!writeNative) throw notNative("this ingest process writes no Native blocks");
  if (!newline) throw new AgentApiError("BAD_REQUEST", "Native ingest batch: no block after the header line");
  const block = body.subarray(start);
  return storeOnce(deps, agent, header.batchId, header.table, async () => {
    const v = validateNativeBlock(block, {
      table: header.table,
      orgId: agent.orgId,
      agentId: agent.agentId,
      // ── AutoTagging: the tag id columns are computed from the block's addresses in its walk. ──
      ...(writer.tagNative
        ? { tags: (await writer.tagNative(header.table, agent.orgId, agent.agentId)) ?? [] }
        : {}),
      maxRows: deps.options.maxBatchRows,
    });
    if (!v.ok) throw new AgentApiError("BAD_REQUEST", `Native ingest batch: ${v.error}`);
    if (v.rows !== header.rows)
      throw new AgentApiError(
        "BAD_REQUEST",
        `Native ingest batch: the header says ${header.rows} rows, the block holds ${v.rows}`,
      );
    await takeQuota(deps, agent, v.rows);
    deps.arrived?.();
    const { inserted } = await writeNative(header.table, agent.orgId, v, writeOptions(agent, header.batchId));
    return { accepted: inserted, rejected: [] };
  });
}
