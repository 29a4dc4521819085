import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { TagDictionary, type TDictResource } from "./dictionary.ts";

/**
 * `resolveV4` (compact ingest: the address as a number) must answer what `resolve` answers for the
 * address's dotted text, whatever the resources: overlapping VPCs and ranges, hosts in several
 * VPCs, resource IPs written in other forms (leading zeros, v4-mapped), agents' own hosts.
 */
const octet = fc.constantFrom(0, 1, 2, 10, 200, 255);
const v4 = fc.tuple(fc.constantFrom(10, 192), octet, octet, octet).map((p) => p.join("."));
const ipForm = fc.oneof(
  v4,
  v4.map((ip) => ip.replace(/^10\./, "010.")),
  v4.map((ip) => `::ffff:${ip}`),
  fc.constant("fd00::10"),
);

const resourcesArb = fc
  .array(
    fc.record({
      kind: fc.constantFrom("vpc", "subnet", "host", "pod", "service", "interface"),
      vpc: fc.constantFrom("vpc-a", "vpc-b", ""),
      cidr: fc.option(
        fc.tuple(v4, fc.constantFrom(8, 16, 24, 32)).map(([ip, len]) => `${ip}/${len}`),
        { nil: null },
      ),
      ips: fc.array(ipForm, { maxLength: 3 }),
      agent: fc.boolean(),
      vni: fc.option(fc.constantFrom(7, 8), { nil: undefined }),
    }),
    { maxLength: 25 },
  )
  .map((list) =>
    list.map((x, i): TDictResource => {
      const agent = x.agent && x.kind === "host";
      return {
        accountId: agent ? "agents" : "aws",
        accountKind: agent ? "agents" : "aws",
        kind: x.kind,
        externalId: x.kind === "vpc" ? x.vpc || `vpc-${i}` : `r${i}`,
        tagId: i + 1,
        refs: x.kind === "vpc" || !x.vpc ? {} : { vpc: x.vpc },
        cidr: x.cidr,
        ips: x.ips,
        attrs: {
          ...(agent ? { agentId: `agent-${i % 2}` } : {}),
          ...(x.kind === "vpc" && x.vni !== undefined ? { vni: x.vni } : {}),
        },
      };
    }),
  );

const toNumber = (ip: string) => ip.split(".").reduce((n, p) => n * 256 + Number(p), 0);

describe("TagDictionary.resolveV4", () => {
  it("answers as resolve() of the dotted text, in every VPC context", () => {
    fc.assert(
      fc.property(resourcesArb, fc.array(v4, { minLength: 1, maxLength: 10 }), (resources, probes) => {
        const d = new TagDictionary(1, resources);
        const contexts = [
          0,
          d.contextFor("agent-0", undefined),
          d.contextFor("agent-1", 7),
          d.contextFor(undefined, 8),
          ...resources.map((r) => r.tagId),
        ];
        const known = resources.flatMap((r) => r.ips).filter((ip) => /^\d+\.\d+\.\d+\.\d+$/.test(ip));
        for (const ip of [...probes, ...known.filter((ip) => !/(^|\.)0\d/.test(ip))]) {
          for (const ctx of contexts) expect(d.resolveV4(toNumber(ip), ctx)).toEqual(d.resolve(ip, ctx));
        }
      }),
      { numRuns: 500 },
    );
  });
});
