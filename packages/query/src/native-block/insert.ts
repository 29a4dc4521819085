import { randomUUID } from "node:crypto";
import { Readable } from "node:stream";
import type { ClickHouseClient } from "@clickhouse/client";
import { ROW_TABLES, type TRowTableName } from "../rows/index.ts";

/**
 * One insert of validated Native blocks (`validateNativeBlock`'s payloads) of one table and one
 * signature: `INSERT INTO table (columns) FORMAT Native` with the blocks back to back as its body (a
 * Native stream is many blocks). The client's `insert` has no Native format, so it goes through
 * `exec` with the payload as the body; the settings are `insertEncoded`'s (a token of its own, the
 * rollups deduplicated with the table).
 */
export async function insertNative(
  client: ClickHouseClient,
  table: TRowTableName,
  columns: readonly string[],
  payload: Buffer | readonly Buffer[],
  dedupToken: string = randomUUID(),
): Promise<void> {
  if (!ROW_TABLES[table]) throw new Error(`unknown telemetry table '${table}'`);
  const def = ROW_TABLES[table];
  for (const c of columns) {
    // The names come from the validator; checked again so no text reaches the query unchecked.
    if (!(c in def.columns)) throw new Error(`native insert: ${table} has no column '${c}'`);
  }
  const chunks = Buffer.isBuffer(payload) ? [payload] : payload;
  const res = await client.exec({
    query: `INSERT INTO ${table} (${columns.join(", ")}) FORMAT Native`,
    values: Readable.from(chunks, { objectMode: false }),
    clickhouse_settings: {
      deduplicate_blocks_in_dependent_materialized_views: 1,
      insert_deduplication_token: dedupToken,
    },
  });
  // The answer of an insert is empty; read it so the socket goes back to the pool.
  res.stream.resume();
  await new Promise<void>((resolve, reject) => {
    res.stream.once("end", resolve);
    res.stream.once("error", reject);
  });
}
