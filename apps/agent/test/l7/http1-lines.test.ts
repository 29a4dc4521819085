import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  headerScanner,
  LINES,
  loadHttp1LinesAddon,
  MAX_HEADER,
  MAX_HEADERS,
  OUT_LEN,
  OWN_CONNECTION,
  OWN_CONTENT_LENGTH,
  OWN_HOST,
  OWN_TRANSFER_ENCODING,
  QUERY,
  scanHeaderBlockJs,
  TARGET_END,
} from "../../src/l7/native/http1-lines.ts";

const bytes = (s: string) => new Uint8Array(Buffer.from(s, "latin1"));

/** What a scan reported: its result and the positions it defines for that result. */
function report(r: number, out: Int32Array): number[] {
  if (r === -3) return [r];
  if (r < 0) return [r, out[0]!, out[TARGET_END]!, out[QUERY]!];
  return [r, ...out.subarray(0, LINES + 2 * r)];
}

function jsScan(b: Uint8Array, off: number, end: number): number[] {
  const out = new Int32Array(OUT_LEN).fill(-7);
  return report(scanHeaderBlockJs(b, off, end, out), out);
}

describe("HTTP/1 header block scan (JS version)", () => {
  it("finds the first line, the parser's own headers (last one wins) and the other lines", () => {
    const text =
      "xxGET /a HTTP/1.1\r\nHost: a\r\nUser-Agent: u\r\ncontent-LENGTH:\t 12 \r\nhost:b\nX-Y:\r\n" +
      "Transfer-Encoding: chunked\r\nConnection: close\r\nContent-Length : 3\r\n\r\nbody";
    const b = bytes(text);
    const out = new Int32Array(OUT_LEN);
    const n = scanHeaderBlockJs(b, 2, b.length, out);
    const at = (i: number) => text.slice(out[i]!, out[i + 1]!);
    expect(n).toBe(3);
    expect(text.slice(2, out[0]!)).toBe("GET /a HTTP/1.1");
    expect(text.slice(out[1]!)).toBe("body");
    expect([at(OWN_HOST), at(OWN_CONTENT_LENGTH), at(OWN_TRANSFER_ENCODING), at(OWN_CONNECTION)]).toEqual([
      "b",
      "12 ",
      "chunked",
      "close",
    ]);
    expect([at(LINES), at(LINES + 2), at(LINES + 4)]).toEqual([
      "User-Agent: u",
      "X-Y:",
      "Content-Length : 3",
    ]);
    expect([out[TARGET_END], out[QUERY]]).toEqual([text.indexOf(" HTTP"), -1]);
    const get = "GET /a?b=1?c HTTP/1.1\r\n\r\n";
    expect(scanHeaderBlockJs(bytes(get), 0, get.length, out)).toBe(0);
    expect(out.subarray(2, TARGET_END)).toEqual(new Int32Array(TARGET_END - 2).fill(-1));
    expect([out[TARGET_END], out[QUERY]]).toEqual([get.indexOf(" HTTP"), get.indexOf("?")]);
  });

  it("says incomplete, too many lines or too big as the parser's header loop did", () => {
    const out = new Int32Array(OUT_LEN);
    const lines = (k: number) => `GET / HTTP/1.1\r\n${"a: b\r\n".repeat(k)}`;
    expect(scanHeaderBlockJs(bytes("GET / HTTP/1.1\r"), 0, 15, out)).toBe(-3);
    expect(scanHeaderBlockJs(bytes("GET / HTTP/1.1\r\n"), 0, 16, out)).toBe(-1);
    // A line feed past the window's end does not count.
    expect(scanHeaderBlockJs(bytes(`${lines(1)}\r\n`), 0, 22, out)).toBe(-1);
    expect(scanHeaderBlockJs(bytes(`${lines(MAX_HEADERS)}\r\n`), 0, 16 + 6 * MAX_HEADERS + 2, out)).toBe(
      MAX_HEADERS,
    );
    const over = bytes(`${lines(MAX_HEADERS + 1)}\r\n`);
    expect(scanHeaderBlockJs(over, 0, over.length, out)).toBe(-2);
    const big = bytes(`GET / HTTP/1.1\r\nX: ${"v".repeat(MAX_HEADER)}`);
    expect(scanHeaderBlockJs(big, 0, big.length, out)).toBe(-2);
    expect(scanHeaderBlockJs(big, 0, 16 + MAX_HEADER, out)).toBe(-1);
  });
});

const addon = loadHttp1LinesAddon();
const native = typeof addon === "string" ? undefined : addon;

describe.skipIf(native === undefined)("HTTP/1 header block scan (C addon)", () => {
  const out = native?.buffer() ?? new Int32Array(0);
  const cScan = (b: Uint8Array, off: number, end: number) => report(native!.scan(b, off, end), out);

  const names = [
    "Host",
    "hOsT",
    "hxyz",
    "h:yz",
    "hx:z",
    "Content-Length",
    "CONTENT-LENGTH",
    "content-lengtH",
    "Content-Length ",
    "Connection",
    "connectioN",
    "Transfer-Encoding",
    "transfer-encodinG",
    "Transfer_Encoding",
    "traceparent",
    "User-Agent",
    "X-Request-ID",
    "Cookie",
    // "\r" | 32 is "-": only A-Z may be folded.
    "content\rlength",
    "TRANSFER\rENCODING",
    "c",
    "",
    "\x80\xff",
  ];
  const value = fc.constantFrom("", " v", "\t 12", "  chunked ", " close", "1\r2", "::", " \t");
  const eol = fc.constantFrom("\r\n", "\r\n", "\n", "\r", "\r\r\n", "");
  const line = fc.oneof(
    fc.tuple(fc.constantFrom(...names), value, eol).map(([n, v, e]) => `${n}:${v}${e}`),
    fc
      .tuple(
        fc.string({
          unit: fc.constantFrom("h", "H", "c", "t", "T", ":", " ", "\t", "\r", "\n", "x", "\x00"),
          maxLength: 20,
        }),
        eol,
      )
      .map(([s, e]) => s + e),
  );
  const first = fc.oneof(
    fc.constantFrom(
      "GET / HTTP/1.1\r\n",
      "HTTP/1.1 200 OK\r\n",
      "GET /\r HTTP/1.1\n\r\n",
      "GET /a?x=1&y=?2 HTTP/1.1\r\n",
      "OPTIONS * HTTP/1.0\r\n",
      "GET  /two-spaces HTTP/1.1\r\n",
      "",
      "\r\n",
      "\r",
    ),
    // Request lines with any number of spaces and question marks.
    fc
      .string({ unit: fc.constantFrom("G", " ", "?", "/", "a", "\r", "\n"), maxLength: 16 })
      .map((l) => `${l}\r\n`),
  );
  const block = fc
    .tuple(
      fc.string({ maxLength: 4 }),
      first,
      fc.array(line, { maxLength: 24 }),
      fc.constantFrom("\r\n", "\n", "", "\r\n\r\n"),
      fc.string({ maxLength: 8 }),
    )
    .map(([pre, f, ls, blank, tail]) => ({ pre, text: pre + f + ls.join("") + blank + tail }));

  it("gives the JS version's result and positions on random, near-valid and malformed blocks", () => {
    fc.assert(
      fc.property(block, fc.nat(), fc.nat(), ({ pre, text }, cutA, cutB) => {
        const b = bytes(text);
        const off = Math.min(pre.length, cutA % (pre.length + 1));
        // Windows ending anywhere, the whole buffer included.
        const end = off + (cutB % (b.length - off + 1));
        expect(cScan(b, off, end)).toEqual(jsScan(b, off, end));
        expect(cScan(b, off, b.length)).toEqual(jsScan(b, off, b.length));
      }),
      { numRuns: 5000 },
    );
  });

  it("agrees at the caps: line count and block size, at and past each", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: MAX_HEADERS - 2, max: MAX_HEADERS + 2 }),
        fc.constantFrom("a: b\r\n", "Host: h\r\n", "x\n"),
        fc.boolean(),
        (k, l, done) => {
          const b = bytes(`GET / HTTP/1.1\r\n${l.repeat(k)}${done ? "\r\n" : ""}`);
          expect(cScan(b, 0, b.length)).toEqual(jsScan(b, 0, b.length));
        },
      ),
      { numRuns: 60 },
    );
    for (const size of [MAX_HEADER - 1, MAX_HEADER, MAX_HEADER + 1, MAX_HEADER + 2]) {
      const b = bytes(`GET / HTTP/1.1\r\nX: ${"v".repeat(size - 3)}`);
      expect(cScan(b, 0, b.length)).toEqual(jsScan(b, 0, b.length));
    }
  });

  it("reads a view at its own offset and rejects bad arguments instead of reading past the end", () => {
    const whole = bytes("zzzzGET / HTTP/1.1\r\nHost: h\r\n\r\n");
    const view = whole.subarray(4);
    expect(cScan(view, 0, view.length)).toEqual(jsScan(view, 0, view.length));
    expect(() => native!.scan(view, 0, view.length + 1)).toThrow(/bad arguments/);
    expect(() => native!.scan(view, 5, 4)).toThrow(/bad arguments/);
    expect(() => native!.scan(new Uint16Array(4) as unknown as Uint8Array, 0, 1)).toThrow(/bad arguments/);
  });

  it("is what the parser uses unless FLOWPLANE_HTTP1_NATIVE=0", () => {
    expect(headerScanner().kind).toBe(
      process.env.FLOWPLANE_HTTP1_NATIVE === "0" ? expect.any(String) : "native",
    );
  });
});
