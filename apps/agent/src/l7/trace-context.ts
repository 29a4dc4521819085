/**
 * Trace context from request headers: W3C traceparent, B3 (single `b3` and multi `x-b3-*`),
 * SkyWalking sw8, Jaeger uber-trace-id, X-Request-ID, plus configured names. The first source
 * found wins for trace/span ids (in the order above), so a request carrying several agrees with
 * what the instrumented caller most likely propagated. Secret-bearing headers (Authorization,
 * Cookie, ...) are masked: they are never looked at, even when configured as trace headers,
 * unless explicitly kept.
 */
import type { HeaderPolicy, TraceContext } from "./types.ts";

export interface HeaderPolicyOptions {
  /** Extra header names whose value is a trace id (checked after the standard ones). */
  traceHeaders?: readonly string[];
  /** Extra header names whose value is a request id (beside x-request-id). */
  requestIdHeaders?: readonly string[];
  /** Headers never read (default: authorization, proxy-authorization, cookie, set-cookie). */
  maskHeaders?: readonly string[];
  /** Headers read even when masked by default. */
  keepHeaders?: readonly string[];
}

export const DEFAULT_MASKED_HEADERS = ["authorization", "proxy-authorization", "cookie", "set-cookie"];

const MAX_ID = 128;

export function emptyTrace(): TraceContext {
  return { traceId: "", spanId: "", parentSpanId: "", xRequestId: "" };
}

function clip(s: string): string {
  s = s.trim();
  return s.length > MAX_ID ? s.slice(0, MAX_ID) : s;
}

function b64(s: string): string {
  try {
    const t = Buffer.from(s, "base64").toString("latin1");
    return /^[\x20-\x7e]*$/.test(t) ? clip(t) : "";
  } catch {
    return "";
  }
}

const STANDARD = [
  "traceparent",
  "b3",
  "x-b3-traceid",
  "x-b3-spanid",
  "x-b3-parentspanid",
  "sw8",
  "uber-trace-id",
];

export class HeaderPolicyImpl implements HeaderPolicy {
  private readonly custom: Set<string>;
  private readonly reqIds: Set<string>;
  private readonly masked: Set<string>;
  /** Names worth a string, by length: HTTP/1 matches raw bytes against these first. */
  private readonly byLen: string[][] = [];
  /** 1 at each byte (either case) that starts one of those names: HTTP/1 skips other lines. */
  readonly nameStarts = new Uint8Array(256);
  /** The same names by first byte (either case), for `offerLine`. */
  private readonly byFirst: string[][] = [];
  /** Every name in `byFirst`, in the order they were added there. */
  private readonly lineNames: string[] = [];
  /** No configured names: the standard ones and x-request-id only. */
  private readonly standardOnly: boolean;

  constructor(o: HeaderPolicyOptions = {}) {
    const lc = (a: readonly string[] | undefined) => (a ?? []).map((x) => x.toLowerCase());
    const keep = new Set(lc(o.keepHeaders));
    this.masked = new Set(
      [...(o.maskHeaders ? lc(o.maskHeaders) : DEFAULT_MASKED_HEADERS)].filter((h) => !keep.has(h)),
    );
    this.custom = new Set(lc(o.traceHeaders).filter((h) => !this.masked.has(h)));
    this.reqIds = new Set(["x-request-id", ...lc(o.requestIdHeaders)].filter((h) => !this.masked.has(h)));
    this.standardOnly = this.custom.size === 0 && this.reqIds.size === 1 && this.reqIds.has("x-request-id");
    for (const n of new Set([...STANDARD, ...this.custom, ...this.reqIds])) {
      if (this.masked.has(n) || n.length > 64) continue;
      const list = this.byLen[n.length] ?? [];
      list.push(n);
      this.byLen[n.length] = list;
      // A header's name ends at its line's first colon: a name holding one never matches.
      if (n.includes(":")) continue;
      // offerBytes folds A-Z only, so a name starting with a-z matches its capital too.
      // An empty name matches a line starting with its colon.
      const c = n.length === 0 ? 58 : n.charCodeAt(0);
      if (c < 256) this.lineNames.push(n);
      for (const f of c >= 97 && c <= 122 ? [c, c - 32] : c < 256 ? [c] : []) {
        this.nameStarts[f] = 1;
        const group = this.byFirst[f] ?? [];
        group.push(n);
        this.byFirst[f] = group;
      }
    }
  }

  /**
   * Raw-bytes variant for HTTP/1: the name at [ns, ne) is compared case-insensitively with the
   * wanted names of its length before any string is made, so ordinary headers cost no
   * allocation. The value string is made only for a match.
   */
  offerBytes(t: TraceContext, b: Uint8Array, ns: number, ne: number, vs: number, ve: number): boolean {
    const cands = this.byLen[ne - ns];
    if (cands === undefined) return false;
    for (let c = 0; c < cands.length; c++) {
      const n = cands[c]!;
      let i = 0;
      for (; i < n.length; i++) {
        let ch = b[ns + i]!;
        if (ch >= 65 && ch <= 90) ch |= 32;
        if (ch !== n.charCodeAt(i)) break;
      }
      if (i === n.length) {
        if (ve - vs > 256) ve = vs + 256;
        return this.offer(t, n, Buffer.prototype.latin1Slice.call(b, vs, ve) as string);
      }
    }
    return false;
  }

  /**
   * One HTTP/1 header line [p, eol) whose first byte `nameStarts` marks: each candidate name is
   * tried where it would end, so the line's colon is never searched for. The same as
   * `offerBytes` with the line's first colon (no candidate holds a colon).
   */
  offerLine(t: TraceContext, b: Uint8Array, p: number, eol: number): boolean {
    const cands = this.byFirst[b[p]!];
    if (cands === undefined) return false;
    for (let c = 0; c < cands.length; c++) {
      const n = cands[c]!;
      const colon = p + n.length;
      if (colon >= eol || b[colon] !== 58) continue;
      let i = 0;
      for (; i < n.length; i++) {
        let ch = b[p + i]!;
        if (ch >= 65 && ch <= 90) ch |= 32;
        if (ch !== n.charCodeAt(i)) break;
      }
      if (i === n.length) {
        let vs = colon + 1;
        while (vs < eol && (b[vs] === 32 || b[vs] === 9)) vs++;
        return this.offer(
          t,
          n,
          Buffer.prototype.latin1Slice.call(b, vs, eol - vs > 256 ? vs + 256 : eol) as string,
        );
      }
    }
    return false;
  }

  /**
   * The names `offerLine` tries, in its order, for the native HTTP/1 path (../native/http1-rows-c.ts,
   * which ports `offer`): [name, kind (1-7: STANDARD's index + 1, 0 other), is a request-id
   * name, is a custom trace name].
   */
  nativeNames(): [string, number, number, number][] {
    // A name with a character above U+00FF never equals header bytes (here or in C).
    return this.lineNames
      .filter((n) => latin1Only(n))
      .map((n) => [n, STANDARD.indexOf(n) + 1, this.reqIds.has(n) ? 1 : 0, this.custom.has(n) ? 1 : 0]);
  }

  /** Whether a header (lower-case) may be looked at. */
  allowed(name: string): boolean {
    return !this.masked.has(name);
  }

  offer(t: TraceContext, name: string, value: string): boolean {
    // Names arrive lower-cased. Fast exit for the common headers that carry nothing: with only
    // the standard names and x-request-id, every wanted name starts with t, b, x, s or u.
    const c = name.charCodeAt(0);
    if (c !== 116 && c !== 98 && c !== 120 && c !== 115 && c !== 117 && this.standardOnly) return false;
    if (this.masked.has(name)) return false;
    switch (name) {
      case "traceparent": {
        // version-traceid-parentid-flags; the usual fixed layout is sliced without splitting.
        const v = value.trim();
        if (v.length >= 55 && v.charCodeAt(2) === 45 && v.charCodeAt(35) === 45 && v.charCodeAt(52) === 45) {
          t.traceId = v.slice(3, 35);
          t.spanId = v.slice(36, 52);
          t.parentSpanId = "";
          return true;
        }
        const p = v.split("-");
        if (p.length >= 4 && p[1]!.length === 32 && p[2]!.length === 16) {
          t.traceId = p[1]!;
          t.spanId = p[2]!;
          t.parentSpanId = "";
          return true;
        }
        return false;
      }
      case "b3": {
        // traceid-spanid[-sampled[-parentspanid]] (a lone "0"/"1" is sampling only)
        if (t.traceId) return false;
        const p = value.trim().split("-");
        if (p.length >= 2) {
          t.traceId = clip(p[0]!);
          t.spanId = clip(p[1]!);
          t.parentSpanId = p.length >= 4 ? clip(p[3]!) : "";
          return true;
        }
        return false;
      }
      case "x-b3-traceid":
        if (!t.traceId || t.traceId === "") t.traceId = clip(value);
        return true;
      case "x-b3-spanid":
        if (!t.spanId) t.spanId = clip(value);
        return true;
      case "x-b3-parentspanid":
        if (!t.parentSpanId) t.parentSpanId = clip(value);
        return true;
      case "sw8": {
        // sample-traceId-parentSegmentId-parentSpanId-... (ids base64)
        if (t.traceId) return false;
        const p = value.trim().split("-");
        if (p.length >= 4) {
          t.traceId = b64(p[1]!);
          t.spanId = `${b64(p[2]!)}-${p[3]!}`.slice(0, MAX_ID);
          return true;
        }
        return false;
      }
      case "uber-trace-id": {
        if (t.traceId) return false;
        const v = value.includes("%3A") || value.includes("%3a") ? value.replace(/%3a/gi, ":") : value;
        const p = v.trim().split(":");
        if (p.length >= 3) {
          t.traceId = clip(p[0]!);
          t.spanId = clip(p[1]!);
          t.parentSpanId = p[2] === "0" ? "" : clip(p[2]!);
          return true;
        }
        return false;
      }
    }
    if (this.reqIds.has(name)) {
      if (!t.xRequestId) t.xRequestId = clip(value);
      return true;
    }
    if (this.custom.has(name)) {
      if (!t.traceId) t.traceId = clip(value);
      return true;
    }
    return false;
  }
}

function latin1Only(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0xff) return false;
  return true;
}
