/** Live tshark counts for the comparisons reference.json cannot answer (it keeps defaults). */
import { spawnSync } from "node:child_process";
import { tsharkAvailable } from "../tshark/reference.ts";

/** tshark field values (one line per frame, occurrences comma-separated) for a display filter. */
export function tsharkFields(
  path: string,
  filter: string,
  fields: string[],
  extra: string[] = [],
): string[][] {
  tsharkAvailable();
  const args = [
    "-n",
    "-r",
    path,
    ...extra,
    "-Y",
    filter,
    "-T",
    "fields",
    "-E",
    "occurrence=a",
    "-E",
    "aggregator=,",
  ];
  for (const f of fields) args.push("-e", f);
  const r = spawnSync("tshark", args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`tshark failed on ${path}: ${r.stderr}`);
  return r.stdout
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => l.split("\t"));
}

/**
 * HTTP requests by method and responses by status, counted at their headers
 * (`http.desegment_body:FALSE`): rows are made when headers are complete, while tshark by
 * default waits for the whole body and drops messages whose body was not all captured.
 */
export function tsharkHttpAtHeaders(
  path: string,
  decodeAs: string[] = [],
): { byMethod: Record<string, number>; byStatus: Record<string, number> } {
  const extra = ["-o", "http.desegment_body:FALSE", ...decodeAs.flatMap((d) => ["-d", d])];
  const byMethod: Record<string, number> = {};
  const byStatus: Record<string, number> = {};
  for (const [m = "", s = ""] of tsharkFields(
    path,
    "http.request || http.response",
    ["http.request.method", "http.response.code"],
    extra,
  )) {
    for (const x of m.split(",").filter(Boolean)) byMethod[x] = (byMethod[x] ?? 0) + 1;
    for (const x of s.split(",").filter(Boolean)) byStatus[x] = (byStatus[x] ?? 0) + 1;
  }
  return { byMethod, byStatus };
}
