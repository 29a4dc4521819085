/**
 * The agent against tshark on every shared capture: per flow (innermost 5-tuple), packets,
 * wire bytes and retransmissions (`tcp.analysis.retransmission`) must agree, and so must the
 * number of flows per 5-tuple (tshark's tcp.stream starts anew on port reuse, like us).
 * tshark missing fails the run (tsharkAvailable throws), it never skips.
 * By-design differences (docs/agent-fidelity.md) are listed in BY_DESIGN and nowhere else.
 */
import { readdirSync } from "node:fs";
import { basename, join } from "node:path";
import { sharedPcapsDir } from "@flowplane/core/shared-dir";
import { describe, expect, it } from "vitest";
import { analyzeFileSync } from "../src/analyze.ts";
import type { L4FlowRow } from "../src/flow/flow-engine.ts";
import { recordedCaptures } from "./captures/index.ts";
import { byKey, flowKey, tsharkAvailable, tsharkFlows } from "./tshark/reference.ts";

const dir = sharedPcapsDir();
const files = readdirSync(dir)
  .filter((f) => /\.(pcap|pcapng|cap)$/.test(f))
  .sort()
  .map((f) => join(dir, f));
// Captures recorded here of real clients (curl, dig, psql, mysql, redis-cli, ...).
const recorded = recordedCaptures();

interface Agg {
  packets: number;
  bytes: number;
  retrans: number;
  flows: Set<string>;
}

export function agentByKey(rows: L4FlowRow[]): Map<string, Agg> {
  const m = new Map<string, Agg>();
  for (const r of rows) {
    const k = flowKey(r.ip_protocol, r.client_ip, r.client_port, r.server_ip, r.server_port);
    let a = m.get(k);
    if (!a) {
      a = { packets: 0, bytes: 0, retrans: 0, flows: new Set() };
      m.set(k, a);
    }
    a.packets += r.packets_c2s + r.packets_s2c;
    a.bytes += r.bytes_c2s + r.bytes_s2c;
    a.retrans += r.retrans_c2s + r.retrans_s2c;
    a.flows.add(r.flow_id);
  }
  return m;
}

describe("agent vs tshark per flow", () => {
  it("has tshark (fails loudly when missing)", () => {
    expect(tsharkAvailable()).toMatch(/TShark/);
  });

  it("found the shared and recorded captures", () => {
    expect(files.length).toBeGreaterThan(30);
    expect(recorded.length).toBeGreaterThan(3);
  });

  it.each([...files, ...recorded].map((p) => [basename(p), p]))("%s", async (_name, path) => {
    const ref = await tsharkFlows(path);
    const rows: L4FlowRow[] = [];
    const res = analyzeFileSync(path, { onL4: (r) => rows.push(r) });
    const mine = agentByKey(rows);
    const theirs = byKey(ref.flows);
    const streams = new Map<string, number>();
    for (const f of ref.flows) streams.set(f.key, (streams.get(f.key) ?? 0) + 1);
    const diffs: string[] = [];
    // By design (docs/agent-fidelity.md): tshark puts a fragmented datagram's transport in the
    // frame that completes reassembly and leaves the other fragments as bare IP (ports 0, or
    // the outer GRE of a fragmented tunnel packet); we put every fragment in the datagram's
    // flow. So tshark-only port-0 flows must be exactly the surplus of our flows.
    let fragPackets = 0;
    let fragBytes = 0;
    let surplusPackets = 0;
    let surplusBytes = 0;
    for (const [k, t] of theirs) {
      const a = mine.get(k);
      if (!a) {
        if (t.a.port === 0 && t.b.port === 0 && t.protocol !== 1 && t.protocol !== 58) {
          fragPackets += t.packets;
          fragBytes += t.bytes;
        } else diffs.push(`${k}: missing (tshark ${t.packets} packets)`);
        continue;
      }
      if (a.packets < t.packets) diffs.push(`${k}: packets ${a.packets} vs tshark ${t.packets}`);
      surplusPackets += a.packets - t.packets;
      surplusBytes += a.bytes - t.bytes;
      if (a.packets === t.packets && a.bytes !== t.bytes)
        diffs.push(`${k}: bytes ${a.bytes} vs tshark ${t.bytes}`);
      if (a.retrans !== t.retransmissions)
        diffs.push(`${k}: retransmissions ${a.retrans} vs tshark ${t.retransmissions}`);
      const n = t.protocol === 6 || t.protocol === 17 ? (streams.get(k) ?? 1) : a.flows.size;
      if (a.flows.size !== n) diffs.push(`${k}: ${a.flows.size} flows vs tshark ${n} streams`);
    }
    for (const [k, a] of mine) if (!theirs.has(k)) diffs.push(`${k}: extra (${a.packets} packets)`);
    if (surplusPackets !== fragPackets || surplusBytes !== fragBytes) {
      diffs.push(
        `surplus ${surplusPackets} packets/${surplusBytes} bytes vs tshark fragments ${fragPackets}/${fragBytes}`,
      );
    }
    expect(diffs).toEqual([]);
    // Every frame is either in a flow, a non-IP frame, or a counted decode error.
    expect(res.stats.flowPackets + res.stats.nonIp + res.stats.decodeErrors).toBe(res.stats.packets);
    expect(res.stats.packets).toBe(ref.frames);
  });
});
