/**
 * Synthetic pcap of TCP conversations for throughput and memory measurements (not for
 * fidelity: real captures do that). `flows` conversations run in lock-step rounds, so all of
 * them are open at once: round 0 SYN, 1 SYN-ACK, 2 ACK, then `dataRounds` payload segments
 * alternating client/server, then FIN, FIN, ACK (when `close`). Packets are 1 µs apart.
 */
import { closeSync, openSync, writeSync } from "node:fs";
import { pcapFileHeader } from "./pcap-header.ts";

export interface SyntheticOptions {
  flows: number;
  dataRounds: number;
  payload?: number;
  close?: boolean;
  startMicros?: number;
}

const ETH = 14;
const IP = 20;
const TCP = 20;

export function writeSyntheticPcap(path: string, o: SyntheticOptions): number {
  const payload = o.payload ?? 64;
  const rounds = 3 + o.dataRounds + (o.close === false ? 0 : 3);
  const fd = openSync(path, "w");
  writeSync(fd, pcapFileHeader(65535));
  const chunk = Buffer.alloc(4 * 1024 * 1024);
  let used = 0;
  let ts = o.startMicros ?? 1_700_000_000_000_000;
  let count = 0;
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < o.flows; i++) {
      let flags: number;
      let fromClient: boolean;
      let len = 0;
      if (r === 0) {
        flags = 0x02;
        fromClient = true;
      } else if (r === 1) {
        flags = 0x12;
        fromClient = false;
      } else if (r === 2) {
        flags = 0x10;
        fromClient = true;
      } else if (r < 3 + o.dataRounds) {
        flags = 0x18;
        fromClient = (r - 3) % 2 === 0;
        len = payload;
      } else {
        const k = r - 3 - o.dataRounds;
        flags = k === 2 ? 0x10 : 0x11;
        fromClient = k !== 1;
      }
      const wire = ETH + IP + TCP + len;
      if (used + 16 + wire > chunk.length) {
        writeSync(fd, chunk, 0, used);
        used = 0;
      }
      const b = chunk;
      let p = used;
      b.writeUInt32LE(Math.floor(ts / 1e6), p);
      b.writeUInt32LE(ts % 1e6, p + 4);
      b.writeUInt32LE(wire, p + 8);
      b.writeUInt32LE(wire, p + 12);
      p += 16;
      // Ethernet
      b.fill(0, p, p + 12);
      b[p + 5] = fromClient ? 1 : 2;
      b.writeUInt16BE(0x0800, p + 12);
      p += ETH;
      const client = (10 << 24) | (i >>> 8);
      const server = (192 << 24) | (168 << 16) | (i & 0xff);
      const cport = 1024 + (i % 60000);
      b[p] = 0x45;
      b[p + 1] = 0;
      b.writeUInt16BE(IP + TCP + len, p + 2);
      b.writeUInt32BE(0, p + 4);
      b[p + 8] = 64;
      b[p + 9] = 6;
      b.writeUInt16BE(0, p + 10);
      b.writeUInt32BE((fromClient ? client : server) >>> 0, p + 12);
      b.writeUInt32BE((fromClient ? server : client) >>> 0, p + 16);
      p += IP;
      b.writeUInt16BE(fromClient ? cport : 80, p);
      b.writeUInt16BE(fromClient ? 80 : cport, p + 2);
      // Sequence numbers: each side sends `len` bytes per data round it owns.
      const cData = Math.max(0, Math.min(r - 3, o.dataRounds));
      const seqC = 1000 + 1 + Math.ceil(cData / 2) * payload;
      const seqS = 5000 + 1 + Math.floor(cData / 2) * payload;
      b.writeUInt32BE(fromClient ? (r === 0 ? 1000 : seqC) : r === 1 ? 5000 : seqS, p + 4);
      b.writeUInt32BE(r === 0 ? 0 : fromClient ? seqS : seqC, p + 8);
      b[p + 12] = 0x50;
      b[p + 13] = flags;
      b.writeUInt16BE(65535, p + 14);
      b.writeUInt32BE(0, p + 16);
      p += TCP;
      if (len) b.fill(0x61, p, p + len);
      used += 16 + wire;
      ts++;
      count++;
    }
  }
  if (used) writeSync(fd, chunk, 0, used);
  closeSync(fd);
  return count;
}
