import { describe, expect, it } from "vitest";
import { TagDictionary } from "../../src/tagging/dictionary.ts";
import { tagFieldIds } from "../../src/tagging/tag-fields.ts";
import { twoVpcResources } from "./resources.ts";

const resources = twoVpcResources();

/** What `ResourceTagger.tagRows` sets on a row object with these texts (its reference logic). */
function reference(d: TagDictionary, agentId: string, client: string, server: string, tunnel: string) {
  const ctx = d.contextFor(agentId, Number(tunnel));
  return [d.resolve(client, ctx).resourceId, d.resolve(server, ctx).resourceId];
}

describe("tagging a compact batch from its bytes", () => {
  it("gives the ids tagRows gives, for canonical, odd and repeated addresses and tunnels", () => {
    const d = new TagDictionary(1, resources);
    const lines: [string, string, string][] = [
      ["10.0.1.10", "10.0.1.10", "0"],
      ["10.0.1.10", "10.0.1.10", "4242"],
      ["10.0.1.10", "10.0.1.200", ""],
      ["010.0.1.10", "10.0.1.5", "0"],
      ["::ffff:10.0.1.10", "FD00::10", "0"],
      ["203.0.113.7", "10.0.9.9", "x"],
      ["10.0.1.10", "not an ip", "4242"],
      ["", "1.2.3.4", "0"],
      ["10.0.1.256", "10.0.1.10", "4242"],
      ["10.0.1.10", "10.0.1.10", "0"],
    ];
    const src = Buffer.from(lines.map((l) => `${l.join("\t")}\n`).join(""), "latin1");
    const spans = {
      client_ip: new Int32Array(lines.length * 2),
      server_ip: new Int32Array(lines.length * 2),
      tunnel_id: new Int32Array(lines.length * 2),
    };
    let p = 0;
    lines.forEach((l, i) => {
      [spans.client_ip, spans.server_ip, spans.tunnel_id].forEach((sp, f) => {
        sp[2 * i] = p;
        p += (l[f] as string).length;
        sp[2 * i + 1] = p;
        p += 1;
      });
    });
    const ids = tagFieldIds(d, "agent-a", { count: lines.length, src, spans });
    const got = lines.map((_, i) => [
      ids?.get("client_resource_id")?.[i] ?? 0,
      ids?.get("server_resource_id")?.[i] ?? 0,
    ]);
    const want = lines.map((l) => reference(d, "agent-a", ...l));
    expect(got).toEqual(want);
    // The fixture resolves on both sides, in both contexts.
    expect(new Set(want.flat()).size).toBeGreaterThan(4);
  });

  it("does no work for an org whose dictionary resolves nothing", () => {
    const d = new TagDictionary(1, []);
    expect(d.empty).toBe(true);
    const src = Buffer.from("10.0.1.10\n");
    const span = Int32Array.from([0, 9]);
    expect(tagFieldIds(d, "agent-a", { count: 1, src, spans: { client_ip: span } })).toBeUndefined();
  });
});
