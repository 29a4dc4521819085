import { describe, expect, it } from "vitest";
import {
  createEngine,
  type EngineOptions,
  type L4FlowRow,
  type NetworkMetricsRow,
} from "../src/flow/flow-engine.ts";
import * as F from "./helpers/frames.ts";

const C = "10.0.0.1";
const S = "10.0.0.2";
const T0 = 1_700_000_000_000_000;

function harness(o: EngineOptions = {}) {
  const l4: L4FlowRow[] = [];
  const nm: NetworkMetricsRow[] = [];
  const e = createEngine({
    maxFlows: 1024,
    ...o,
    onL4: (r) => l4.push(r),
    onNetworkMetrics: (r) => nm.push(r),
  });
  const send = (
    t: number,
    fromClient: boolean,
    flags: number,
    seq: number,
    ack: number,
    len = 0,
    cport = 40000,
    win = 1000,
  ) => {
    const f = F.eth(
      0x0800,
      F.ipv4(
        6,
        fromClient ? C : S,
        fromClient ? S : C,
        F.tcp(fromClient ? cport : 80, fromClient ? 80 : cport, new Array(len).fill(0), {
          flags,
          seq,
          ack,
          window: win,
        }),
      ),
    );
    e.packet(1, f, 0, f.length, f.length, t);
  };
  return { e, l4, nm, send };
}

/** SYN at t, SYN-ACK at t+1000, ACK at t+1500, request at t+2000, response at t+5000. */
function handshakeAndRequest(h: ReturnType<typeof harness>, t = T0, cport = 40000) {
  h.send(t, true, 0x02, 100, 0, 0, cport);
  h.send(t + 1000, false, 0x12, 500, 101, 0, cport);
  h.send(t + 1500, true, 0x10, 101, 501, 0, cport);
  h.send(t + 2000, true, 0x18, 101, 501, 10, cport);
  h.send(t + 5000, false, 0x18, 501, 111, 20, cport);
}

describe("flow engine", () => {
  it("decides client/server by the handshake and measures RTT and SRT", () => {
    const h = harness();
    h.send(T0, false, 0x12, 500, 101); // a SYN-ACK seen first: its receiver is the client
    h.e.flush();
    expect(h.l4[0]).toMatchObject({ client_ip: C, server_ip: S, server_port: 80 });

    const g = harness();
    handshakeAndRequest(g);
    g.send(T0 + 6000, true, 0x11, 111, 521);
    g.send(T0 + 6500, false, 0x11, 521, 112);
    g.send(T0 + 7000, true, 0x10, 112, 522);
    g.e.flush();
    expect(g.l4).toHaveLength(1);
    expect(g.l4[0]).toMatchObject({
      client_ip: C,
      client_port: 40000,
      server_ip: S,
      server_port: 80,
      ip_protocol: 6,
      packets_c2s: 5,
      packets_s2c: 3,
      rtt_server_us: 1000,
      rtt_client_us: 500,
      rtt_us: 1500,
      srt_us: 3000,
      syn_count: 1,
      synack_count: 1,
      close_type: "fin",
      tcp_flags_c2s: 0x1b,
      retrans_c2s: 0,
    });
    expect(g.l4[0]?.flow_id).toMatch(/^\d+$/);
  });

  it("the SYN sender is the client even when its port is lower than the server's (high ports)", () => {
    // Client on ephemeral 35342 connects to a server on 60999: the lower-port guess would
    // make 35342 the server; the handshake must win.
    const rows: L4FlowRow[] = [];
    const nm: NetworkMetricsRow[] = [];
    const e = createEngine({ maxFlows: 64, onL4: (r) => rows.push(r), onNetworkMetrics: (r) => nm.push(r) });
    const pkt = (t: number, fromClient: boolean, flags: number, seq: number, ack: number, len = 0) => {
      const f = F.eth(
        0x0800,
        F.ipv4(
          6,
          fromClient ? C : S,
          fromClient ? S : C,
          F.tcp(fromClient ? 35342 : 60999, fromClient ? 60999 : 35342, new Array(len).fill(0), {
            flags,
            seq,
            ack,
            window: 1000,
          }),
        ),
      );
      e.packet(1, f, 0, f.length, f.length, t);
    };
    pkt(T0, true, 0x02, 100, 0);
    pkt(T0 + 1000, false, 0x12, 500, 101);
    pkt(T0 + 1500, true, 0x10, 101, 501);
    pkt(T0 + 2000, true, 0x18, 101, 501, 10);
    pkt(T0 + 5000, false, 0x18, 501, 111, 20);
    e.flush();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      client_ip: C,
      client_port: 35342,
      server_ip: S,
      server_port: 60999,
      packets_c2s: 3,
      packets_s2c: 2,
      rtt_us: 1500,
      srt_us: 3000,
    });
    expect(nm.every((r) => r.client_ip === C && r.server_port === 60999)).toBe(true);
    expect(nm.reduce((a, r) => a + r.packets_c2s, 0)).toBe(3);

    // A flow first seen mid-stream is keyed by the port guess; a later SYN decides the roles.
    const late: L4FlowRow[] = [];
    const e2 = createEngine({ maxFlows: 64, onL4: (r) => late.push(r), onNetworkMetrics: () => {} });
    const f1 = F.eth(
      0x0800,
      F.ipv4(6, C, S, F.tcp(35342, 60999, [1, 2], { flags: 0x18, seq: 1, ack: 1, window: 9 })),
    );
    e2.packet(1, f1, 0, f1.length, f1.length, T0);
    const f2 = F.eth(
      0x0800,
      F.ipv4(6, C, S, F.tcp(35342, 60999, [], { flags: 0x02, seq: 7, ack: 0, window: 9 })),
    );
    e2.packet(1, f2, 0, f2.length, f2.length, T0 + 10);
    e2.flush();
    expect(late[0]).toMatchObject({ client_port: 35342, server_port: 60999, packets_c2s: 2, packets_s2c: 0 });
  });

  it("a reused port after a close is a new flow; a retransmitted SYN is not", () => {
    const h = harness();
    h.send(T0, true, 0x02, 100, 0);
    h.send(T0 + 1_000_000, true, 0x02, 100, 0); // SYN retransmission, same ISN
    h.send(T0 + 1_001_000, false, 0x12, 500, 101);
    h.send(T0 + 1_002_000, true, 0x04, 101, 0); // client RST
    h.send(T0 + 1_500_000, true, 0x02, 9000, 0); // new connection on the same ports
    h.e.flush();
    expect(h.l4).toHaveLength(2);
    expect(h.l4[0]).toMatchObject({ syn_count: 2, retrans_c2s: 1, close_type: "client_rst", packets_c2s: 3 });
    expect(h.l4[1]).toMatchObject({ syn_count: 1, packets_c2s: 1 });
    expect(h.l4[0]?.flow_id).not.toBe(h.l4[1]?.flow_id);
  });

  it("counts retransmissions and zero windows per direction", () => {
    const h = harness();
    handshakeAndRequest(h);
    h.send(T0 + 300_000, true, 0x18, 101, 501, 10); // same data again, long after: retransmission
    h.send(T0 + 301_000, false, 0x10, 521, 111, 0, 40000, 0); // zero window from the server
    h.e.flush();
    expect(h.l4[0]).toMatchObject({ retrans_c2s: 1, retrans_s2c: 0, zero_win_s2c: 1, zero_win_c2s: 0 });
  });

  it("times flows out per state and reports long flows every minute with the same flow_id", () => {
    const h = harness();
    handshakeAndRequest(h);
    for (let s = 1; s <= 150; s += 10) h.send(T0 + s * 1e6, true, 0x10, 111, 521);
    h.send(T0 + 1000e6, true, 0x10, 111, 521); // long after the 300 s established timeout
    h.e.flush();
    const ids = new Set(h.l4.map((r) => r.flow_id));
    const types = h.l4.map((r) => r.close_type);
    expect(types.filter((t) => t === "forced_report").length).toBeGreaterThanOrEqual(2);
    expect(types).toContain("timeout");
    expect(ids.size).toBe(2); // the first flow's reports share one id, the late packet opens a new flow
    const first = h.l4.filter((r) => r.flow_id === h.l4[0]?.flow_id);
    expect(first.reduce((s, r) => s + r.packets_c2s + r.packets_s2c, 0)).toBe(5 + 15);
  });

  it("bounds concurrent flows and evicts the least recently active", () => {
    const h = harness({ maxFlows: 16 });
    for (let i = 0; i < 40; i++) h.send(T0 + i, true, 0x02, 1, 0, 0, 20000 + i);
    h.e.flush();
    const s = h.e.stats();
    expect(s.evictions).toBe(24);
    expect(h.l4.filter((r) => r.close_type === "flow_table_full").map((r) => r.client_port)).toEqual(
      Array.from({ length: 24 }, (_, i) => 20000 + i),
    );
    expect(s.maxConcurrentFlows).toBe(16);
  });

  it("keeps every flow while the flow arrays double past their first size", () => {
    // 100 k flows open at once: the arrays start at 32 k slots and grow 3 times (the last one
    // clamped to maxFlows); every answer must still find its flow (index rebuilt, state kept).
    const n = 100_000;
    const h = harness({ maxFlows: 110_000 });
    // One SYN and one SYN-ACK frame, patched per flow: client port (bytes 34/36) and the last
    // byte of the client address (29/33) give 100 k distinct 5-tuples.
    const frame = (reply: boolean) =>
      F.eth(
        0x0800,
        F.ipv4(
          6,
          reply ? S : C,
          reply ? C : S,
          F.tcp(reply ? 80 : 1, reply ? 1 : 80, [], { flags: reply ? 0x12 : 0x02 }),
        ),
      );
    const req = frame(false);
    const rep = frame(true);
    const syn = (i: number, reply: boolean) => {
      const f = reply ? rep : req;
      const cport = 10_000 + (i % 50_000);
      const at = reply ? 36 : 34;
      f[at] = cport >> 8;
      f[at + 1] = cport & 255;
      f[reply ? 33 : 29] = i < 50_000 ? 1 : 3;
      h.e.packet(1, f, 0, f.length, f.length, T0 + i);
    };
    for (let i = 0; i < n; i++) syn(i, false);
    for (let i = 0; i < n; i++) syn(i, true);
    h.e.flush();
    const s = h.e.stats();
    expect(s.flowsCreated).toBe(n);
    expect(s.maxConcurrentFlows).toBe(n);
    expect(s.evictions).toBe(0);
    expect(h.l4).toHaveLength(n);
    expect(h.l4.every((r) => r.packets_c2s === 1 && r.packets_s2c === 1 && r.synack_count === 1)).toBe(true);
    expect(new Set(h.l4.map((r) => `${r.client_ip}:${r.client_port}`)).size).toBe(n);
  });

  it("evicts once the grown arrays reach maxFlows", () => {
    const h = harness({ maxFlows: 40_000 });
    for (let i = 0; i < 50_000; i++) h.send(T0 + i, true, 0x02, 1, 0, 0, 10_000 + i);
    h.e.flush();
    const s = h.e.stats();
    expect(s.evictions).toBe(10_000);
    expect(s.maxConcurrentFlows).toBe(40_000);
    expect(h.l4.filter((r) => r.close_type === "flow_table_full")[0]?.client_port).toBe(10_000);
  });

  it("emits per-second network metrics per (client, server, port, protocol)", () => {
    const h = harness();
    handshakeAndRequest(h, T0, 40000);
    handshakeAndRequest(h, T0 + 10_000, 40001);
    h.send(T0 + 1_200_000, true, 0x04, 111, 0, 0, 40000);
    h.e.flush();
    const first = h.nm.filter((r) => r.time === T0);
    expect(first).toHaveLength(1);
    expect(first[0]).toMatchObject({
      client_ip: C,
      server_ip: S,
      server_port: 80,
      ip_protocol: 6,
      new_flows: 2,
      packets_c2s: 6,
      packets_s2c: 4,
      rtt_count: 2,
      rtt_sum_us: 3000,
    });
    const second = h.nm.filter((r) => r.time === T0 + 1_000_000);
    expect(second[0]).toMatchObject({ client_rst: 1, packets_c2s: 1 });
    expect(h.nm.reduce((s, r) => s + r.closed_flows, 0)).toBe(2);
  });

  it("UDP and ICMP flows: well-known port and echo direction decide roles", () => {
    const h = harness();
    const dns = F.eth(0x0800, F.ipv4(17, S, C, F.udp(53, 33333, [1, 2, 3])));
    h.e.packet(1, dns, 0, dns.length, dns.length, T0);
    const reply = F.eth(0x0800, F.ipv4(1, S, C, F.icmpEcho(0)));
    h.e.packet(1, reply, 0, reply.length, reply.length, T0 + 1);
    h.e.flush();
    const udp = h.l4.find((r) => r.ip_protocol === 17);
    const icmp = h.l4.find((r) => r.ip_protocol === 1);
    expect(udp).toMatchObject({ client_ip: C, client_port: 33333, server_port: 53, packets_s2c: 1 });
    expect(icmp).toMatchObject({ client_ip: C, server_ip: S, packets_s2c: 1 });
  });

  it("keys tunnelled traffic on the inner 5-tuple and tags the tunnel", () => {
    const h = harness();
    const inner = F.eth(0x0800, F.ipv4(6, C, S, F.tcp(40000, 80, [], { flags: 0x02 })));
    const f = F.eth(0x0800, F.ipv4(17, "172.16.0.1", "172.16.0.2", F.udp(5000, 4789, F.vxlan(321, inner))));
    h.e.packet(1, f, 0, f.length, f.length, T0);
    h.e.flush();
    expect(h.l4[0]).toMatchObject({
      client_ip: C,
      server_port: 80,
      tunnel_type: "vxlan",
      tunnel_id: 321,
      tunnel_outer_src: "172.16.0.1",
      tunnel_outer_dst: "172.16.0.2",
      bytes_c2s: f.length,
    });
  });

  it("fragments of a datagram stay in its flow", () => {
    const h = harness();
    const first = F.eth(
      0x0800,
      F.ipv4(17, C, S, F.udp(5000, 53, new Array(16).fill(0)), { id: 9, mf: true, totalLength: 20 + 24 }),
    );
    const later = F.eth(0x0800, F.ipv4(17, C, S, new Array(8).fill(0), { id: 9, fragOffset: 24 }));
    h.e.packet(1, first, 0, first.length, first.length, T0);
    h.e.packet(1, later, 0, later.length, later.length, T0 + 1);
    h.e.flush();
    expect(h.l4).toHaveLength(1);
    expect(h.l4[0]).toMatchObject({ server_port: 53, packets_c2s: 2 });
  });
});
