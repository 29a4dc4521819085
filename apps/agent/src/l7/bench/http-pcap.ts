/**
 * An HTTP-heavy capture for the L7 benchmark: `flows` keep-alive connections (handshake, then
 * `requests` GETs each answered by a JSON response, every 8th a 4 KiB body over three
 * segments, ACKs from the client, then FIN/FIN/ACK), interleaved across flows so many are open
 * at once. Requests carry a traceparent and an Authorization header, like real service traffic.
 */
import { writeFileSync } from "node:fs";
import { pcapFileHeader } from "../../testing/pcap-header.ts";

/**
 * `api`: small JSON answers (512 B, every 8th 4 KiB), the densest L7 case.
 * `web`: page-like answers cycling 0.5-32 KiB (mean ≈ 8 KiB), a client ACK every two segments.
 */
export type HttpProfile = "api" | "web";
const WEB_SIZES = [512, 2048, 8192, 16384, 1024, 4096, 32768, 600];

export function buildHttpPcap(
  flows: number,
  requests: number,
  profile: HttpProfile = "api",
): { pcap: Buffer; packets: number } {
  const frames: Buffer[] = [];
  let ts = 1_700_000_000_000_000;
  const seqC = new Int32Array(flows);
  const seqS = new Int32Array(flows);
  const frame = (f: number, fromClient: boolean, flags: number, payload: Buffer | null) => {
    const pl = payload?.length ?? 0;
    const b = Buffer.alloc(14 + 20 + 20 + pl);
    b.writeUInt16BE(0x0800, 12);
    b[14] = 0x45;
    b.writeUInt16BE(40 + pl, 16);
    b[22] = 64;
    b[23] = 6;
    const cip = 0x0a000000 + 1 + (f >> 8);
    const sip = 0x0a640000 + 80;
    b.writeUInt32BE(fromClient ? cip : sip, 26);
    b.writeUInt32BE(fromClient ? sip : cip, 30);
    const cport = 20000 + (f & 0x3fff);
    b.writeUInt16BE(fromClient ? cport : 8080, 34);
    b.writeUInt16BE(fromClient ? 8080 : cport, 36);
    b.writeInt32BE(fromClient ? seqC[f]! : seqS[f]!, 38);
    b.writeInt32BE(fromClient ? seqS[f]! : seqC[f]!, 42);
    b[46] = 0x50;
    b[47] = flags;
    b.writeUInt16BE(65535, 48);
    if (payload) payload.copy(b, 54);
    if (fromClient) seqC[f] = (seqC[f]! + pl + (flags & 3 ? 1 : 0)) | 0;
    else seqS[f] = (seqS[f]! + pl + (flags & 3 ? 1 : 0)) | 0;
    const rec = Buffer.alloc(16);
    ts += 3;
    rec.writeUInt32LE(Math.floor(ts / 1e6), 0);
    rec.writeUInt32LE(ts % 1e6, 4);
    rec.writeUInt32LE(b.length, 8);
    rec.writeUInt32LE(b.length, 12);
    frames.push(rec, b);
  };
  const body = (n: number) =>
    Buffer.from(
      `{"items":[${'"x",'.repeat(Math.max(0, Math.floor((n - 12) / 4)))}"x"]}`.slice(0, n).padEnd(n, " "),
    );
  const small = body(512);
  const big = body(4096);
  const webBodies = WEB_SIZES.map(body);
  for (let f = 0; f < flows; f++) {
    seqC[f] = 1000 + f;
    seqS[f] = 900_000 + f;
  }
  for (let f = 0; f < flows; f++) frame(f, true, 0x02, null);
  for (let f = 0; f < flows; f++) frame(f, false, 0x12, null);
  for (let f = 0; f < flows; f++) frame(f, true, 0x10, null);
  for (let r = 0; r < requests; r++) {
    for (let f = 0; f < flows; f++) {
      const req = Buffer.from(
        `GET /api/v1/items/${(f * 31 + r) % 50}?page=${r} HTTP/1.1\r\nHost: shop.internal:8080\r\nUser-Agent: bench/1.0\r\nAccept: application/json\r\n` +
          `Authorization: Bearer abc.def.ghi\r\ntraceparent: 00-${(f * 1000 + r).toString(16).padStart(32, "0")}-00f067aa0ba902b7-01\r\n\r\n`,
      );
      frame(f, true, 0x18, req);
      const b =
        profile === "web" ? (webBodies[(f + r) % webBodies.length] as Buffer) : r % 8 === 7 ? big : small;
      const head = Buffer.from(
        `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${b.length}\r\nServer: bench\r\n\r\n`,
      );
      const resp = Buffer.concat([head, b]);
      let segs = 0;
      for (let o = 0; o < resp.length; o += 1448) {
        frame(f, false, 0x18, resp.subarray(o, o + 1448));
        if (profile === "web" && ++segs % 2 === 0) frame(f, true, 0x10, null);
      }
      frame(f, true, 0x10, null);
    }
  }
  for (let f = 0; f < flows; f++) frame(f, true, 0x11, null);
  for (let f = 0; f < flows; f++) frame(f, false, 0x11, null);
  for (let f = 0; f < flows; f++) frame(f, true, 0x10, null);
  return { pcap: Buffer.concat([pcapFileHeader(262144), ...frames]), packets: frames.length / 2 };
}

if (process.argv[1]?.endsWith("http-pcap.ts") && process.argv[2]) {
  const { pcap, packets } = buildHttpPcap(
    Number(process.argv[3] ?? 2000),
    Number(process.argv[4] ?? 50),
    (process.argv[5] ?? "api") as HttpProfile,
  );
  writeFileSync(process.argv[2], pcap);
  console.log(`${packets} packets → ${process.argv[2]}`);
}
