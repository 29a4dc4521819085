/**
 * L7-protocol policies inside `run`: the pipeline hands the broker the protocol the flow
 * engine detected on the packet's flow. A mix of HTTP, DNS and MySQL flows goes through the
 * real pipeline (engine + L7 processor) and the NPB runtime; only copies are captured.
 */
import { join } from "node:path";
import { sharedPcapsDir } from "@flowplane/core/shared-dir";
import { describe, expect, it } from "vitest";
import { readCaptureFile } from "../../src/capture/capture-file.ts";
import { decodeFrame } from "../../src/decode/packet.ts";
import { PacketMeta } from "../../src/decode/packet-meta.ts";
import { NpbRuntime } from "../../src/npb/runtime.ts";
import type { PacketSender } from "../../src/npb/sender.ts";
import { BatchingExporter } from "../../src/run/exporter.ts";
import { createPipeline } from "../../src/run/pipeline.ts";
import { policy } from "./fixtures.ts";

interface Frame {
  source: string;
  index: number;
  data: Uint8Array;
}

function frames(name: string): Frame[] {
  const out: Frame[] = [];
  readCaptureFile(
    join(sharedPcapsDir(), name),
    (linkType, buf, off, capLen) => {
      expect(linkType).toBe(1);
      out.push({ source: name, index: out.length, data: buf.slice(off, off + capLen) });
    },
    () => {},
  );
  return out;
}

/** Round-robin interleave, so the flows are open at the same time. */
function interleave(...lists: Frame[][]): Frame[] {
  const out: Frame[] = [];
  for (let i = 0; lists.some((l) => i < l.length); i++)
    for (const l of lists) if (i < l.length) out.push(l[i]!);
  return out;
}

const VXLAN_OUTER = 20 + 8 + 8; // outer IPv4 + UDP + VXLAN before the inner frame

/** Runs the mix through pipeline + broker with `policies`; returns the inner frames delivered. */
async function brokered(mix: Frame[], policies: unknown[], o: { l7?: boolean } = {}): Promise<Uint8Array[]> {
  const copies: Uint8Array[] = [];
  const sender = {
    send: (_d: unknown, p: Uint8Array, len: number) => copies.push(p.slice(VXLAN_OUTER, len)),
    stats: () => null,
    close: async () => {},
  } as unknown as PacketSender;
  const npb = new NpbRuntime({
    agentId: () => "agent-1",
    interfaces: ["eth0"],
    dedup: true,
    log: () => {},
    sender: () => sender,
  });
  npb.apply({ revision: "r1", policies });
  const pipeline = createPipeline({
    exporter: new BatchingExporter({ export: async () => ({ ok: true }) } as never),
    wallClockTicks: false,
    npb,
    ...(o.l7 === false ? { l7: false } : {}),
  });
  // Timestamps rebased 1 ms apart: the captures were recorded years apart.
  mix.forEach((f, i) => {
    pipeline.packet(1, f.data, 0, f.data.length, f.data.length, 1_700_000_000_000_000 + i * 1000);
  });
  await pipeline.stop();
  return copies;
}

describe("l7Protocols policies in the run pipeline", () => {
  const http = frames("http1-get.pcap");
  const mix = interleave(http, frames("dns-udp.pcap"), frames("mysql-login-query.pcap"));
  const m = new PacketMeta();
  // The HTTP flow's protocol is known from its first payload packet (the request) on.
  const firstPayload = http.findIndex((f) => {
    decodeFrame(m, 1, f.data, 0, f.data.length);
    return m.payloadLen > 0;
  });

  it("forwards only the HTTP flow's packets, from the one that revealed the protocol on", async () => {
    const got = await brokered(mix, [policy({ match: { l7Protocols: ["http"] } })]);
    expect(firstPayload).toBe(3); // SYN, SYN-ACK, ACK come before anything says "http"
    const want = http.slice(firstPayload).map((f) => Buffer.from(f.data));
    expect(got.map((c) => Buffer.from(c))).toEqual(want);
  });

  it("a policy for two protocols forwards both, the unmatched one (dns) not at all", async () => {
    const got = await brokered(mix, [policy({ match: { l7Protocols: ["http", "mysql"] } })]);
    const sources = new Map(mix.map((f) => [Buffer.from(f.data).toString("hex"), f.source]));
    const bySource = new Map<string, number>();
    for (const c of got) {
      const s = sources.get(Buffer.from(c).toString("hex")) ?? "?";
      bySource.set(s, (bySource.get(s) ?? 0) + 1);
    }
    expect(bySource.get("http1-get.pcap")).toBe(http.length - firstPayload);
    expect(bySource.get("mysql-login-query.pcap")).toBeGreaterThan(40); // all but the handshake
    expect(bySource.has("dns-udp.pcap")).toBe(false);
    expect(bySource.has("?")).toBe(false);
  });

  it("without L7 parsing (run --no-l7) no protocol is known and nothing matches; L4 policies still do", async () => {
    expect(await brokered(mix, [policy({ match: { l7Protocols: ["http"] } })], { l7: false })).toEqual([]);
    expect(await brokered(mix, [policy()], { l7: false })).toHaveLength(mix.length);
  });
});
