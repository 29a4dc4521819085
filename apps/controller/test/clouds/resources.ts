import type { TDictResource } from "../../src/tagging/dictionary.ts";

/**
 * Dictionary resources for tests, of one account: a kind and an external id, the rest empty unless
 * given; tag ids count up from 1 (`reset` starts them again, for tests that name ids).
 */
export function resourceFactory(accountId: string) {
  let next = 1;
  const make = (kind: string, externalId: string, extra: Partial<TDictResource> = {}): TDictResource => ({
    accountId,
    accountKind: "aws",
    kind,
    externalId,
    tagId: next++,
    refs: {},
    cidr: null,
    ips: [],
    attrs: {},
    ...extra,
  });
  return Object.assign(make, {
    reset: () => {
      next = 1;
    },
  });
}

/**
 * Two VPCs on 10.0.0.0/16, the second reached by tunnel 4242; agent-a sits in the first. Tag ids
 * 1-9 in this order.
 */
export function twoVpcResources(): TDictResource[] {
  const r = resourceFactory("aws");
  return [
    r("vpc", "vpc-a", { cidr: "10.0.0.0/16" }),
    r("vpc", "vpc-b", { cidr: "10.0.0.0/16", attrs: { vni: 4242 } }),
    r("subnet", "sub-a", { cidr: "10.0.1.0/24", refs: { vpc: "vpc-a" } }),
    r("host", "i-a1", { ips: ["10.0.1.10"], refs: { vpc: "vpc-a", subnet: "sub-a" } }),
    r("host", "i-b1", { ips: ["10.0.1.10"], refs: { vpc: "vpc-b" } }),
    r("host", "i-a2", { ips: ["10.0.1.5"], refs: { vpc: "vpc-a", subnet: "sub-a" } }),
    r("host", "v6", { ips: ["fd00::10"] }),
    r("host", "pub", { ips: ["203.0.113.7"] }),
    r("host", "agent-a", {
      accountId: "agents",
      accountKind: "agents",
      ips: ["10.0.1.5"],
      attrs: { agentId: "agent-a" },
    }),
  ];
}
