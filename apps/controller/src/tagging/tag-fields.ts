import type { TTagFieldInput } from "../ingest/ingest.ts";
import type { TagDictionary } from "./dictionary.ts";

/**
 * AutoTagging of a compact batch from its bytes (ingest-tsv.ts): the same resolution as
 * `ResourceTagger.tagRows` on row objects, without building them. A dotted IPv4 address is read
 * as a number and resolved from it (`TagDictionary.resolveV4`); any other text is resolved once
 * per batch and VPC context.
 */
export function tagFieldIds(
  dict: TagDictionary,
  agentId: string,
  input: TTagFieldInput,
): Map<string, Uint32Array> | undefined {
  // Nothing can resolve: no work per row (an org without a resource model yet).
  if (dict.empty) return undefined;
  const { count, src, spans } = input;
  const tunnel = spans.tunnel_id;
  const agentCtx = dict.contextFor(agentId, undefined);
  let ctxs: Int32Array | undefined;
  if (tunnel) {
    ctxs = new Int32Array(count);
    for (let r = 0; r < count; r++) {
      const s = tunnel[2 * r] as number;
      const id = s < 0 ? 0 : tunnelIdOf(src, s, tunnel[2 * r + 1] as number);
      ctxs[r] = id ? dict.contextFor(agentId, id) : agentCtx;
    }
  }
  const out = new Map<string, Uint32Array>();
  const sides = [
    ["client_ip", "client_resource_id"],
    ["server_ip", "server_resource_id"],
  ] as const;
  // A canonical IPv4 address is resolved from its number (a few small Map lookups, no string
  // built); anything else by its text, once per batch and VPC context.
  const caches = new Map<number, Map<string, number>>();
  for (const [input, column] of sides) {
    const sp = spans[input];
    if (!sp) continue;
    let ids: Uint32Array | undefined;
    for (let r = 0; r < count; r++) {
      const s = sp[2 * r] as number;
      if (s < 0) continue;
      const e = sp[2 * r + 1] as number;
      const ctx = ctxs ? (ctxs[r] as number) : agentCtx;
      const v4 = ipv4At(src, s, e);
      let id: number;
      if (v4 >= 0) id = dict.resolveV4(v4, ctx).resourceId;
      else {
        let cache = caches.get(ctx);
        if (!cache) {
          cache = new Map();
          caches.set(ctx, cache);
        }
        const text = src.toString("latin1", s, e);
        const known = cache.get(text);
        id = known ?? dict.resolve(text, ctx).resourceId;
        if (known === undefined) cache.set(text, id);
      }
      if (Number.isInteger(id) && id > 0 && id <= 4_294_967_295) {
        ids ??= new Uint32Array(count);
        ids[r] = id;
      }
    }
    if (ids) out.set(column, ids);
  }
  return out.size > 0 ? out : undefined;
}

/**
 * `src[s, e)` as a dotted IPv4 address in canonical form (four decimal parts 0-255, no leading
 * zeros) as an unsigned number; -1 for anything else, which is then keyed by its text.
 */
function ipv4At(src: Buffer, s: number, e: number): number {
  let n = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = s; i < e; i++) {
    const c = src[i] as number;
    if (c === 46) {
      if (digits === 0 || dots === 3) return -1;
      n = n * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && part === 0) return -1; // a leading zero
      part = part * 10 + (c - 48);
      if (part > 255) return -1;
      digits++;
    } else return -1;
  }
  if (dots !== 3 || digits === 0) return -1;
  return n * 256 + part;
}

/** The row's tunnel id as `tagRows` reads it (`Number` of the text; not a number counts as none). */
function tunnelIdOf(src: Buffer, s: number, e: number): number {
  let n = 0;
  for (let i = s; i < e; i++) {
    const c = src[i] as number;
    if (c < 48 || c > 57 || i - s > 9) {
      const v = Number(src.toString("latin1", s, e));
      return Number.isNaN(v) ? 0 : v;
    }
    n = n * 10 + (c - 48);
  }
  return n;
}
