import { ipText, writeIp } from "@flowplane/query/native-block";
import { describe, expect, it } from "vitest";
import { TagDictionary } from "../../src/tagging/dictionary.ts";
import { nativeTagColumns } from "../../src/tagging/tag-native.ts";
import { twoVpcResources } from "./resources.ts";

const resources = twoVpcResources();

describe("tagging a Native batch from its bytes", () => {
  it("gives the ids tagRows gives (v4, v4-mapped, v6, tunnels), both sides", () => {
    const d = new TagDictionary(1, resources);
    const rows: [string, string, number][] = [
      ["10.0.1.10", "10.0.1.10", 0],
      ["10.0.1.10", "10.0.1.10", 4242],
      ["10.0.1.10", "10.0.1.200", 0],
      ["::ffff:10.0.1.10", "fd00::10", 0],
      ["203.0.113.7", "10.0.9.9", 7],
      ["fd00:0:0:0:0:0:0:10", "2001:db8::1", 4242],
      ["10.0.1.5", "10.0.1.10", 4242],
    ];
    const ips = (k: 0 | 1) => {
      const out = new Uint8Array(rows.length * 16);
      for (const [i, row] of rows.entries()) expect(writeIp(row[k], out, 16 * i)).toBe(true);
      return out;
    };
    const tunnel = new Uint8Array(rows.length * 4);
    const view = new DataView(tunnel.buffer);
    for (const [i, row] of rows.entries()) view.setUint32(4 * i, row[2], true);
    const columns = nativeTagColumns(d, "agent-a");
    expect(columns?.map((c) => [c.column, c.from])).toEqual([
      ["client_resource_id", "client_ip"],
      ["server_resource_id", "server_ip"],
    ]);
    const column = (name: string) => (name === "tunnel_id" ? tunnel : undefined);
    const client = columns?.[0]?.ids(ips(0), column);
    const server = columns?.[1]?.ids(ips(1), column);
    const got = rows.map((_, i) => [client?.[i], server?.[i]]);
    const want = rows.map(([c, s, t]) => {
      const ctx = d.contextFor("agent-a", t);
      return [d.resolve(c, ctx).resourceId, d.resolve(s, ctx).resourceId];
    });
    // tagRows resolves the text as sent: a non-canonical IPv6 text (row 5) finds nothing there,
    // while the block holds the address itself; agents send canonical text, so both agree.
    expect(got[5]).toEqual([7, 0]);
    expect(want[5]).toEqual([0, 0]);
    want[5] = [7, 0];
    expect(got).toEqual(want);
    expect(new Set(want.flat()).size).toBeGreaterThan(4);
    // Without a tunnel column: the agent's context for every row.
    const noTunnel = columns?.[0]?.ids(ips(0), () => undefined);
    const agentCtx = d.contextFor("agent-a", undefined);
    expect([...(noTunnel ?? [])]).toEqual(
      rows.map(([c], i) => (i === 5 ? 7 : d.resolve(c, agentCtx).resourceId)),
    );
  });

  it("writes IPv6 as RFC 5952 text and does no work for an empty dictionary", () => {
    const at = (s: string) => {
      const b = new Uint8Array(16);
      writeIp(s, b, 0);
      return ipText(b, 0);
    };
    expect(at("2001:DB8:0:0:1:0:0:1")).toBe("2001:db8::1:0:0:1");
    expect(at("::")).toBe("::");
    expect(at("::1")).toBe("::1");
    expect(at("fe80::")).toBe("fe80::");
    expect(at("2001:db8:0:1:1:1:1:1")).toBe("2001:db8:0:1:1:1:1:1");
    expect(nativeTagColumns(new TagDictionary(1, []), "agent-a")).toBeUndefined();
  });
});
