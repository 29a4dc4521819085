/**
 * Redis RESP2/RESP3 as a streaming tokenizer: each call consumes one line or one bulk payload,
 * so values of any size pass without buffering (bulk bodies are skipped, except the command
 * name and key, which are short and kept). Requests: arrays of bulk strings or inline
 * commands; responses pair FIFO; error replies ('-' and RESP3 '!') carry their message.
 * Pub/sub pushes arrive as responses without a request (rows with empty request fields).
 */
import { findByte, findCrlf, latin1, parseDec } from "../bytes.ts";
import type { L7Parser, ParseContext, ProtocolSpec } from "../types.ts";

const MAX_LINE = 64 * 1024;
/** First bytes of RESP2/RESP3 values; anything else from a client is an inline command. */
const RESP_TYPES = new Set([42, 37, 126, 62, 124, 36, 33, 61, 43, 58, 95, 44, 35, 40, 45]);
const MAX_DEPTH = 16;
/** Commands whose first argument is not a key (kept out of request_resource). */
const NO_KEY = new Set([
  "PING",
  "ECHO",
  "AUTH",
  "HELLO",
  "SELECT",
  "INFO",
  "CONFIG",
  "CLIENT",
  "QUIT",
  "MULTI",
  "EXEC",
  "DISCARD",
  "SUBSCRIBE",
  "PSUBSCRIBE",
  "UNSUBSCRIBE",
  "PUBLISH",
  "SCRIPT",
  "EVAL",
  "EVALSHA",
  "FLUSHALL",
  "FLUSHDB",
  "DBSIZE",
  "COMMAND",
  "SCAN",
  "KEYS",
  "TIME",
  "LASTSAVE",
  "ACL",
  "CLUSTER",
]);

/**
 * Command names are few and repeat on every request: the upper-cased name is interned per
 * spelling (bounded), so a request costs no string allocation or toUpperCase for its command.
 * Only a-z are upper-cased, as the server compares names (and as the native row path does,
 * redis-rows-c.ts): toUpperCase would turn a stray latin1 byte into letters outside latin1.
 */
const NAMES = new Map<number, string[]>();
const MAX_NAMES = 4096;
let names = 0;

function asciiUpper(t: string): string {
  return t.replace(/[a-z]+/g, (w) => w.toUpperCase());
}

function commandName(b: Uint8Array, s: number, e: number): string {
  const len = e - s;
  if (len <= 0) return "";
  if (len > 24) return asciiUpper(latin1(b, s, e, 256));
  // FNV-1a over the bytes, folded to upper case: the spelling's bucket.
  let h = 0x811c9dc5;
  for (let i = s; i < e; i++) {
    let c = b[i]!;
    if (c >= 97 && c <= 122) c -= 32;
    h = Math.imul(h ^ c, 0x01000193);
  }
  let bucket = NAMES.get(h);
  if (bucket !== undefined) {
    for (const n of bucket) {
      if (n.length !== len) continue;
      let i = 0;
      for (; i < len; i++) {
        let c = b[s + i]!;
        if (c >= 97 && c <= 122) c -= 32;
        if (n.charCodeAt(i) !== c) break;
      }
      if (i === len) return n;
    }
  }
  const name = asciiUpper(latin1(b, s, e, 256));
  if (names < MAX_NAMES) {
    if (bucket === undefined) {
      bucket = [];
      NAMES.set(h, bucket);
    }
    bucket.push(name);
    names++;
  }
  return name;
}

class Side {
  /** Remaining elements per open aggregate. */
  stack: number[] = [];
  bulk = -1;
  /** Index of the next top-level array element (to catch command and key). */
  elem = 0;
  active = false;
  ts = 0;
  seq = 0;
  len = 0;
  first = "";
  second = "";
  error = "";
  kind = 0;
}

class RedisParser implements L7Parser {
  private readonly sides = [new Side(), new Side()];

  parse(ctx: ParseContext, dir: 0 | 1, b: Uint8Array, off: number, end: number): number {
    const s = this.sides[dir]!;
    if (!s.active) {
      s.active = true;
      s.ts = ctx.ts;
      s.seq = ctx.seq;
      s.len = 0;
      s.first = s.second = s.error = "";
      s.elem = 0;
      s.kind = b[off]!;
    }
    if (s.bulk >= 0) {
      // Bulk payload + CRLF: keep it when it is the command or its key, else skip it.
      const need = s.bulk + 2;
      const wanted = dir === 0 && s.stack.length === 1 && s.elem < 2 && s.bulk <= 256;
      if (wanted) {
        if (end - off < need) return 0;
        if (s.elem === 0) s.first = commandName(b, off, off + s.bulk);
        else s.second = latin1(b, off, off + s.bulk, 256);
      }
      s.bulk = -1;
      s.len += need;
      this.element(ctx, dir, s);
      return need;
    }
    const t = b[off]!;
    if (!RESP_TYPES.has(t)) return this.inline(ctx, dir, s, b, off, end);
    const eol = findCrlf(b, off, end);
    if (eol < 0) return end - off > MAX_LINE ? -1 : 0;
    const n = eol + 2 - off;
    s.len += n;
    switch (t) {
      case 42: // * array
      case 37: // % map
      case 126: // ~ set
      case 62: // > push
      case 124: {
        // | attribute
        const c = b[off + 1] === 45 ? -1 : parseDec(b, off + 1, eol);
        if (c < -1 || (c === -1 && b[off + 1] !== 45)) return -1;
        const cnt = t === 37 || t === 124 ? c * 2 : c;
        if (cnt <= 0) this.element(ctx, dir, s);
        else {
          if (s.stack.length >= MAX_DEPTH || cnt > 1 << 24) return -1;
          s.stack.push(cnt);
        }
        return n;
      }
      case 36: // $ bulk
      case 33: // ! bulk error
      case 61: {
        // = verbatim
        if (b[off + 1] === 45) {
          this.element(ctx, dir, s);
          return n;
        }
        const l = parseDec(b, off + 1, eol);
        if (l < 0 || l > 512 * 1024 * 1024) return -1;
        s.bulk = l;
        if (t === 33) s.error = "error";
        return n;
      }
      case 43: // + simple
      case 58: // : integer
      case 95: // _ null
      case 44: // , double
      case 35: // # boolean
      case 40: // ( big number
        this.element(ctx, dir, s);
        return n;
      case 45: // - error
        if (s.stack.length === 0) s.error = latin1(b, off + 1, eol, 256);
        this.element(ctx, dir, s);
        return n;
    }
    return -1;
  }

  /** Inline command (client): one line of words ending in LF (CR optional). */
  private inline(ctx: ParseContext, dir: 0 | 1, s: Side, b: Uint8Array, off: number, end: number): number {
    if (dir !== 0 || s.stack.length !== 0) return -1;
    const lf = findByte(b, 10, off, end);
    if (lf < 0) return end - off > MAX_LINE ? -1 : 0;
    const eol = lf > off && b[lf - 1] === 13 ? lf - 1 : lf;
    for (let i = off; i < eol; i++) if (b[i]! < 32 || b[i]! > 126) return -1;
    const n = lf + 1 - off;
    if (eol === off) {
      // Empty lines are ignored by the server (redis-cli --pipe sends one).
      s.active = false;
      return n;
    }
    s.len += n;
    // The first two words, cut out directly (no split of the whole line per request).
    const lim = Math.min(eol, off + 512);
    let i = off;
    while (i < lim && (b[i] === 32 || b[i] === 9)) i++;
    let j = i;
    while (j < lim && b[j] !== 32 && b[j] !== 9) j++;
    s.first = commandName(b, i, j);
    i = j;
    while (i < lim && (b[i] === 32 || b[i] === 9)) i++;
    j = i;
    while (j < lim && b[j] !== 32 && b[j] !== 9) j++;
    s.second = latin1(b, i, j);
    this.finish(ctx, dir, s);
    return n;
  }

  /** One element complete: close finished aggregates; the message ends with the outermost. */
  private element(ctx: ParseContext, dir: 0 | 1, s: Side): void {
    if (s.stack.length === 1) s.elem++;
    while (s.stack.length > 0) {
      const top = s.stack.length - 1;
      s.stack[top]!--;
      if (s.stack[top]! > 0) return;
      s.stack.pop();
    }
    this.finish(ctx, dir, s);
  }

  private finish(ctx: ParseContext, dir: 0 | 1, s: Side): void {
    s.active = false;
    if (dir === 0) {
      const cmd = s.first;
      const key = NO_KEY.has(cmd) ? "" : s.second;
      ctx.request({ type: cmd, resource: key, endpoint: cmd, length: s.len, ts: s.ts, seq: s.seq });
    } else {
      const err = s.error !== "" || s.kind === 45;
      ctx.response({
        status: err ? "client_error" : "ok",
        exception: err ? s.error : "",
        length: s.len,
        ts: s.ts,
        seq: s.seq,
      });
    }
  }

  onGap(dir: 0 | 1): void {
    const s = this.sides[dir]!;
    s.stack = [];
    s.bulk = -1;
    s.active = false;
  }
}

function isCmdArray(b: Uint8Array, off: number, end: number): boolean {
  // *<n>\r\n$<len>\r\n<ascii letters>
  if (b[off] !== 42) return false;
  const e1 = findCrlf(b, off, Math.min(end, off + 12));
  if (e1 < 0 || parseDec(b, off + 1, e1) < 1 || b[e1 + 2] !== 36) return false;
  const e2 = findCrlf(b, e1 + 2, Math.min(end, e1 + 14));
  if (e2 < 0) return false;
  const l = parseDec(b, e1 + 3, e2);
  if (l < 1 || l > 64 || e2 + 2 + l > end) return false;
  for (let i = e2 + 2; i < e2 + 2 + l; i++) {
    const c = b[i]! | 32;
    if ((c < 97 || c > 122) && b[i] !== 95 && b[i] !== 124 && b[i] !== 45) return false;
  }
  return true;
}

/** Commands accepted as the first word of an inline (telnet-style) request at detection. */
const INLINE = new Set(
  (
    "PING INFO QUIT SELECT AUTH GET SET SETEX SETNX MGET MSET DEL EXISTS EXPIRE TTL INCR INCRBY DECR " +
    "APPEND KEYS SCAN TYPE RENAME HGET HSET HDEL HGETALL HMSET HMGET HINCRBY LPUSH RPUSH LPOP RPOP " +
    "LRANGE LLEN SADD SREM SMEMBERS SISMEMBER ZADD ZREM ZRANGE ZSCORE PUBLISH SUBSCRIBE PSUBSCRIBE " +
    "UNSUBSCRIBE MONITOR FLUSHALL FLUSHDB DBSIZE ECHO CLIENT CONFIG HELLO MULTI EXEC WATCH EVAL"
  ).split(" "),
);

export const redis: ProtocolSpec = {
  name: "redis",
  ports: [6379, 6380, 16379, 26379],
  transport: "tcp",
  detect(b, off, end) {
    if (isCmdArray(b, off, end)) return 1;
    let line = findByte(b, 10, off, Math.min(end, off + 256));
    if (line < 0) return 0;
    if (line > off && b[line - 1] === 13) line--;
    const w = latin1(b, off, line, 16).toUpperCase();
    const sp = w.indexOf(" ");
    if (INLINE.has(sp < 0 ? w : w.slice(0, sp))) {
      for (let i = off; i < line; i++) if (b[i]! < 32 || b[i]! > 126) return 0;
      return 1;
    }
    if (
      (w === "+OK" || w === "+PONG" || w.startsWith("-ERR ") || w.startsWith("-NOAUTH")) &&
      line + 2 === end
    )
      return 2;
    return 0;
  },
  create: () => new RedisParser(),
};
