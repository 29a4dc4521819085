import type { ClickHouseClient } from "../client.ts";
import { orgQuery } from "../client.ts";
import { Conditions, decodeCursor, encodeCursor } from "./common.ts";

/** What differs between the newest-first list queries (findL4Flows, findL7Logs). */
export interface NewestFirstTable<R> {
  /** Alias of the log table in `from`; conditions and the order are written against it. */
  alias: string;
  /** Time column (DateTime64) the range bounds and the list is ordered by. */
  time: string;
  /** Tie-breaker after flow_id. */
  seq: string;
  select: string;
  /** FROM clause: the log table AS alias, and any joins. */
  from: string;
  decode: (raw: Record<string, unknown>) => R;
  /** The last row's (time µs, flow_id, seq) for the next cursor. */
  cursorOf: (row: R) => (string | number)[];
}

/**
 * One page of an org's rows in a time range, newest first, with a keyset cursor on
 * (time, flow_id, seq). `addFilters` adds the query's own conditions after org and range.
 */
export async function newestFirstPage<R>(
  client: ClickHouseClient,
  t: NewestFirstTable<R>,
  p: { orgId: string; from: number; to: number; limit: number; cursor?: string | undefined },
  addFilters: (c: Conditions) => void,
): Promise<{ rows: R[]; nextCursor: string | undefined }> {
  const a = t.alias;
  // Columns are qualified: the SELECT list aliases them (wire form), and an alias would win.
  const c = new Conditions()
    .add(`${a}.org_id = {org_id:UUID}`)
    .add(`${a}.${t.time} >= fromUnixTimestamp64Micro({from:Int64}, 'UTC')`, { from: p.from })
    .add(`${a}.${t.time} < fromUnixTimestamp64Micro({to:Int64}, 'UTC')`, { to: p.to });
  addFilters(c);
  if (p.cursor) {
    const [ct, id, seq] = decodeCursor(p.cursor, 3);
    c.add(
      `(${a}.${t.time}, ${a}.flow_id, ${a}.${t.seq}) < (fromUnixTimestamp64Micro({c_t:Int64}, 'UTC'), {c_id:UInt64}, {c_seq:UInt32})`,
      { c_t: ct, c_id: id, c_seq: seq },
    );
  }
  const sql = `
    SELECT ${t.select}
    FROM ${t.from}
    WHERE ${c.where()}
    ORDER BY ${a}.${t.time} DESC, ${a}.flow_id DESC, ${a}.${t.seq} DESC
    LIMIT {limit:UInt32}`;
  const raw = await orgQuery<Record<string, unknown>>(client, p.orgId, sql, { ...c.params, limit: p.limit });
  const rows = raw.map(t.decode);
  const last = rows.at(-1);
  const nextCursor = rows.length === p.limit && last ? encodeCursor(t.cursorOf(last)) : undefined;
  return { rows, nextCursor };
}
