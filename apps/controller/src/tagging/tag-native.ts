import { ipText, type TTagColumn } from "@flowplane/query/native-block";
import type { TagDictionary } from "./dictionary.ts";

/**
 * AutoTagging of a Native batch (ingest-native.ts): the same resolution as `ResourceTagger.tagRows`
 * on row objects, from the block's bytes. `validateNativeBlock` hands each tag column the 16-byte
 * addresses of its side: an IPv4-mapped one (::ffff:a.b.c.d, how agents send IPv4) is resolved from
 * its number (`TagDictionary.resolveV4`), any other from its text (RFC 5952, the form agents send),
 * once per batch and VPC context. The VPC context of a row is its tunnel's (tunnel_id, read from
 * the block) else the agent's, as on the other paths.
 */
export function nativeTagColumns(dict: TagDictionary, agentId: string): TTagColumn[] | undefined {
  // Nothing can resolve: no work per row (an org without a resource model yet).
  if (dict.empty) return undefined;
  const agentCtx = dict.contextFor(agentId, undefined);
  // Both sides of one block read the same tunnel ids: their contexts are computed once.
  let lastTunnel: Uint8Array | undefined;
  let lastCtxs: Int32Array | undefined;
  const contexts = (tunnel: Uint8Array | undefined, n: number): Int32Array | undefined => {
    if (!tunnel) return undefined;
    // The validator hands each side its own view of the same column: same bytes, same contexts.
    if (tunnel.buffer === lastTunnel?.buffer && tunnel.byteOffset === lastTunnel.byteOffset) return lastCtxs;
    const ctxs = new Int32Array(n);
    const view = new DataView(tunnel.buffer, tunnel.byteOffset, tunnel.byteLength);
    for (let r = 0; r < n; r++) {
      const id = view.getUint32(4 * r, true);
      ctxs[r] = id ? dict.contextFor(agentId, id) : agentCtx;
    }
    lastTunnel = tunnel;
    lastCtxs = ctxs;
    return ctxs;
  };
  const ids: TTagColumn["ids"] = (ips, column) => {
    const n = ips.length >>> 4;
    const out = new Uint32Array(n);
    const ctxs = contexts(column("tunnel_id"), n);
    const caches = new Map<number, Map<string, number>>();
    for (let r = 0, o = 0; r < n; r++, o += 16) {
      const ctx = ctxs ? (ctxs[r] as number) : agentCtx;
      let id: number;
      if (isV4Mapped(ips, o)) {
        id = dict.resolveV4(
          (((ips[o + 12] as number) << 24) |
            ((ips[o + 13] as number) << 16) |
            ((ips[o + 14] as number) << 8) |
            (ips[o + 15] as number)) >>>
            0,
          ctx,
        ).resourceId;
      } else {
        let cache = caches.get(ctx);
        if (!cache) {
          cache = new Map();
          caches.set(ctx, cache);
        }
        const text = ipText(ips, o);
        const known = cache.get(text);
        id = known ?? dict.resolve(text, ctx).resourceId;
        if (known === undefined) cache.set(text, id);
      }
      if (Number.isInteger(id) && id > 0 && id <= 4_294_967_295) out[r] = id;
    }
    return out;
  };
  return [
    { column: "client_resource_id", from: "client_ip", ids },
    { column: "server_resource_id", from: "server_ip", ids },
  ];
}

function isV4Mapped(b: Uint8Array, o: number): boolean {
  for (let i = 0; i < 10; i++) if (b[o + i] !== 0) return false;
  return b[o + 10] === 0xff && b[o + 11] === 0xff;
}
