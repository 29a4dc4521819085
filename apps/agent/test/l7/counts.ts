/** Message counts derived from L7 rows, in the units tshark's reference counts use. */
import type { L7Row } from "../../src/l7/types.ts";

/** A row with a request part (responses without request may still carry a DNS name). */
export function hasRequest(r: L7Row): boolean {
  return r.request_length > 0 || r.req_tcp_seq !== 0;
}

export function hasResponse(r: L7Row): boolean {
  return (
    r.response_status !== "timeout" &&
    (r.resp_tcp_seq !== 0 || r.response_length > 0 || r.response_code !== 0)
  );
}

export function tally(rows: L7Row[], key: (r: L7Row) => string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of rows) {
    const k = key(r);
    if (k === undefined) continue;
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

export const ofProto = (rows: L7Row[], ...p: string[]) => rows.filter((r) => p.includes(r.l7_protocol));
