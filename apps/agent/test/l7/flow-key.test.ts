// The native path's open() makes a flow's id and address text from numbers (src/l7/flow-key.ts,
// fp_flow_id_text / fp_ip_text in the C): it must write what FlowIdText.of and ipText write.
import { ipv6GroupsText } from "@flowplane/core/ipv6-text";
import { describe, expect, it } from "vitest";
import { FlowIdText } from "../../src/flow/flow-id.ts";
import { ipText } from "../../src/flow/ip-text.ts";
import { ipWords, KEY, keyFromMeta } from "../../src/l7/flow-key.ts";
import { createL7Processor } from "../../src/l7/index.ts";
import type { FlowMeta } from "../../src/l7/types.ts";

/** A deterministic generator (xorshift32). */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

/** Address words with the shapes RFC 5952 tells apart: zero runs of every length and place, ties, IPv4-mapped. */
function randomV6(r: () => number): number[] {
  const g = Array.from({ length: 8 }, () =>
    r() < 0.5 ? 0 : r() < 0.3 ? Math.floor(r() * 16) : Math.floor(r() * 65536),
  );
  if (r() < 0.1) g.fill(0);
  const w = [0, 1, 2, 3].map((i) => (g[2 * i]! * 65536 + g[2 * i + 1]!) >>> 0);
  if (r() < 0.1) return [0, 0, 0xffff, Math.floor(r() * 2 ** 32) >>> 0];
  return w;
}

describe("flow keys: numbers a flow's text is made from", () => {
  it("ipWords takes an address only as ipText writes it", () => {
    expect(ipWords("10.1.2.3")).toEqual({ ver: 4, w: [0x0a010203, 0, 0, 0] });
    expect(ipWords("::")).toEqual({ ver: 6, w: [0, 0, 0, 0] });
    expect(ipWords("fd00::ab:1")).toEqual({ ver: 6, w: [0xfd000000, 0, 0, 0x00ab0001] });
    expect(ipWords("::ffff:10.0.0.1")).toEqual({ ver: 6, w: [0, 0, 0xffff, 0x0a000001] });
    for (const bad of [
      "fd00::0",
      "FD00::1",
      "::ffff:a00:1",
      "1.2.3.04",
      "1.2.3",
      "256.1.1.1",
      "1::2::3",
      "x",
      "",
    ])
      expect(ipWords(bad), bad).toBeNull();
    const r = rng(7);
    for (let i = 0; i < 2000; i++) {
      const w = randomV6(r);
      const text = ipText(6, w[0]!, w[1]!, w[2]!, w[3]!);
      expect(ipWords(text), text).toEqual({ ver: 6, w });
    }
  });

  it("keyFromMeta refuses a flow id that is not a u64's decimal text", () => {
    const k = new Float64Array(KEY.size);
    const meta = (flowId: string): FlowMeta => ({
      flowId,
      clientIp: "10.0.0.1",
      clientPort: 1,
      serverIp: "10.0.0.2",
      serverPort: 80,
      ipProtocol: 6,
    });
    expect(keyFromMeta(meta("18446744073709551615"), k)).toBe(true);
    expect([k[KEY.idHi], k[KEY.idLo]]).toEqual([18446744073, 709551615]);
    for (const bad of ["18446744073709551616", "007", "-1", "1e3", "abc", ""])
      expect(keyFromMeta(meta(bad), k), bad).toBe(false);
  });

  it("the native path writes each flow's id and addresses as the engine's text, and tells servers apart by address, port and kind", () => {
    const r = rng(20261127);
    const ids = new FlowIdText((BigInt(1_795_810_257) << 32n) | (3n << 27n));
    const metas = new Map<number, FlowMeta>();
    const rows: string[] = [];
    const am: string[] = [];
    const dec = new TextDecoder();
    const p = createL7Processor({
      describeFlow: (slot) => metas.get(slot)!,
      flowKey: (slot, k) => keyFromMeta(metas.get(slot)!, k),
      // Rows of flows the native path did not take: none expected.
      onL7: (row) => rows.push(`JS ${JSON.stringify(row)}`),
      onAppMetrics: (row) => am.push(JSON.stringify(row)),
      rawRows: {
        l7: (b, len) => rows.push(...dec.decode(b.subarray(0, len)).split("\n").filter(Boolean)),
        appMetrics: (b, len) => am.push(...dec.decode(b.subarray(0, len)).split("\n").filter(Boolean)),
      },
    });
    expect(p.nativeKind).toBe("native");
    const ts = 1_795_810_257_000_000;
    const servers: Record<string, string[]> = { v4: [], v6: [] };
    const n = 400;
    for (let slot = 0; slot < n; slot++) {
      const v6 = r() < 0.7;
      const addr = () => {
        if (!v6) return ipText(4, Math.floor(r() * 2 ** 32) >>> 0, 0, 0, 0);
        const w = randomV6(r);
        return ipText(6, w[0]!, w[1]!, w[2]!, w[3]!);
      };
      // A few servers, each met by several flows (of their IP version).
      const own = servers[v6 ? "v6" : "v4"]!;
      if (own.length < 6 || r() < 0.1) own.push(addr());
      const serverIp = own[Math.floor(r() * own.length)]!;
      const meta: FlowMeta = {
        flowId: ids.of(slot * 7919),
        clientIp: addr(),
        clientPort: 1024 + slot,
        serverIp,
        serverPort: r() < 0.5 ? 80 : 8080,
        ipProtocol: 6,
      };
      metas.set(slot, meta);
      const req = Buffer.from(`GET /x HTTP/1.1\r\nHost: h\r\n\r\n`, "latin1");
      const resp = Buffer.from("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", "latin1");
      p.onPayload(slot, 0, req, 0, req.length, req.length, 1000, ts + slot);
      p.onPayload(slot, 1, resp, 0, resp.length, resp.length, 5000, ts + slot + 10);
      p.onFlowEnd(slot, ts + slot + 20);
    }
    p.flush(ts + 10_000_000);
    expect(rows).toHaveLength(n);
    for (const line of rows) {
      const row = JSON.parse(line);
      const slot = row.client_port - 1024;
      const m = metas.get(slot)!;
      expect([row.flow_id, row.client_ip, row.server_ip, row.server_port], line).toEqual([
        m.flowId,
        m.clientIp,
        m.serverIp,
        m.serverPort,
      ]);
    }
    // One metrics row per (server address, port, endpoint) in the second, counting its flows.
    const want = new Map<string, number>();
    for (const m of metas.values()) {
      const key = `${m.serverIp} ${m.serverPort}`;
      want.set(key, (want.get(key) ?? 0) + 1);
    }
    const got = new Map<string, number>();
    for (const line of am) {
      const row = JSON.parse(line);
      const key = `${row.server_ip} ${row.server_port}`;
      expect(got.has(key), `two metrics rows for ${key}`).toBe(false);
      got.set(key, row.requests);
    }
    expect(got).toEqual(want);
    expect(ipv6GroupsText([0, 0, 0, 0, 0, 0, 0, 0])).toBe("::");
  });
});
