/**
 * A flow's numbers for its opening on the native row path (SEG_OPEN, FP_KEY_* in
 * native/http1-rows-c.ts): the C
 * makes the flow id's and addresses' text from them, as FlowIdText.of and ipText do, so that a
 * flow costs the JS thread no strings, no FlowMeta and no string arguments to marshal (~30 ms
 * of web-1m's 36 k flows, docs/notes/l7-native-session15.md). The flow engine fills them from
 * its table (`flowKey`); a processor without one takes them from the FlowMeta's text.
 */
import { ipText } from "../flow/ip-text.ts";
import type { FlowMeta } from "./types.ts";

/** Places in a key: the flow id's digits above and below the last nine, then as named. */
export const KEY = {
  idHi: 0,
  idLo: 1,
  ver: 2,
  proto: 3,
  /** Four address words each (an IPv4 address in the first, the others 0). */
  clientIp: 4,
  serverIp: 8,
  clientPort: 12,
  serverPort: 13,
  size: 14,
} as const;

/** Fills `k` for the flow in `slot` as the rows name its two sides; false when it cannot. */
export type FlowKeyOf = (slot: number, k: Float64Array) => boolean;

/** The key with client and server exchanged (a flow whose first payload came from its server). */
export function swapKey(k: Float64Array): void {
  for (let i = 0; i < 4; i++) {
    const c = k[KEY.clientIp + i]!;
    k[KEY.clientIp + i] = k[KEY.serverIp + i]!;
    k[KEY.serverIp + i] = c;
  }
  const p = k[KEY.clientPort]!;
  k[KEY.clientPort] = k[KEY.serverPort]!;
  k[KEY.serverPort] = p;
}

/**
 * The key of a FlowMeta (processors fed without a flow engine: tests, the L7 bench): false when
 * its flow id is not a u64's decimal text or an address is not an IP literal as ipText writes
 * one (the flow then stays on the JS path, whose rows carry the text as it is).
 */
export function keyFromMeta(m: FlowMeta, k: Float64Array): boolean {
  if (!/^(0|[1-9][0-9]{0,19})$/.test(m.flowId)) return false;
  const id = BigInt(m.flowId);
  if (id >= 1n << 64n) return false;
  const c = ipWords(m.clientIp);
  const s = ipWords(m.serverIp);
  if (c === null || s === null || c.ver !== s.ver) return false;
  k[KEY.idHi] = Number(id / 1_000_000_000n);
  k[KEY.idLo] = Number(id % 1_000_000_000n);
  k[KEY.ver] = c.ver;
  k[KEY.proto] = m.ipProtocol;
  for (let i = 0; i < 4; i++) {
    k[KEY.clientIp + i] = c.w[i]!;
    k[KEY.serverIp + i] = s.w[i]!;
  }
  k[KEY.clientPort] = m.clientPort;
  k[KEY.serverPort] = m.serverPort;
  return true;
}

/** An address's version and words, if `text` is one as ipText writes it (else null). */
export function ipWords(text: string): { ver: 4 | 6; w: number[] } | null {
  const a = parseIp(text);
  // Text the C would write otherwise ("fd00::0", upper case, a hex IPv4-mapped tail) is not taken.
  return a !== null && ipText(a.ver, a.w[0]!, a.w[1]!, a.w[2]!, a.w[3]!) === text ? a : null;
}

function parseIp(text: string): { ver: 4 | 6; w: number[] } | null {
  if (!text.includes(":")) {
    const v4 = v4Word(text);
    return v4 === null ? null : { ver: 4, w: [v4, 0, 0, 0] };
  }
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (mapped) {
    const v4 = v4Word(mapped[1]!);
    return v4 === null ? null : { ver: 6, w: [0, 0, 0xffff, v4] };
  }
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const groups = (h: string) => (h === "" ? [] : h.split(":"));
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  const zeros = 8 - head.length - tail.length;
  if (halves.length === 2 ? zeros < 1 : zeros !== 0) return null;
  const g: number[] = [];
  for (const x of [...head, ...Array<string>(zeros).fill("0"), ...tail]) {
    if (!/^[0-9a-f]{1,4}$/.test(x)) return null;
    g.push(Number.parseInt(x, 16));
  }
  const w = [0, 1, 2, 3].map((i) => (g[2 * i]! * 65536 + g[2 * i + 1]!) >>> 0);
  return { ver: 6, w };
}

function v4Word(text: string): number | null {
  const p = text.split(".");
  if (p.length !== 4 || !p.every((x) => /^(0|[1-9][0-9]{0,2})$/.test(x) && Number(x) <= 255)) return null;
  return ((Number(p[0]) << 24) | (Number(p[1]) << 16) | (Number(p[2]) << 8) | Number(p[3])) >>> 0;
}
