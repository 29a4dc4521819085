import { describe, expect, it } from "vitest";
import { TagDictionary, type TDictResource } from "../../src/tagging/dictionary.ts";
import { resourceFactory } from "./resources.ts";

const AWS = "aws-account";
const r = resourceFactory(AWS);

/** Two VPCs that both use 10.0.0.0/16 (see docs/autotagging.md). */
function twoVpcs() {
  r.reset();
  const region = r("region", "eu-west-1");
  const az = r("az", "eu-west-1a", { refs: { region: "eu-west-1" } });
  const vpcA = r("vpc", "vpc-a", { cidr: "10.0.0.0/16", refs: { region: "eu-west-1" } });
  const vpcB = r("vpc", "vpc-b", {
    cidr: "10.0.0.0/16",
    refs: { region: "eu-west-1" },
    attrs: { vni: 4242 },
  });
  const subA = r("subnet", "subnet-a1", {
    cidr: "10.0.1.0/24",
    refs: { vpc: "vpc-a", az: "eu-west-1a", region: "eu-west-1" },
  });
  const subB = r("subnet", "subnet-b1", {
    cidr: "10.0.1.0/24",
    refs: { vpc: "vpc-b", az: "eu-west-1a", region: "eu-west-1" },
  });
  const webA = r("host", "i-a1", {
    ips: ["10.0.1.10"],
    refs: { vpc: "vpc-a", subnet: "subnet-a1", az: "eu-west-1a", region: "eu-west-1" },
  });
  const eniA = r("interface", "eni-a1", {
    ips: ["10.0.1.10", "10.0.1.11"],
    refs: { host: "i-a1", subnet: "subnet-a1", vpc: "vpc-a" },
  });
  const webB = r("host", "i-b1", {
    ips: ["10.0.1.10"],
    refs: { vpc: "vpc-b", subnet: "subnet-b1", az: "eu-west-1a", region: "eu-west-1" },
  });
  const agentHostA = r("host", "i-a2", { ips: ["10.0.1.5"], refs: { vpc: "vpc-a", subnet: "subnet-a1" } });
  const agentHostB = r("host", "i-b2", { ips: ["10.0.1.6"], refs: { vpc: "vpc-b", subnet: "subnet-b1" } });
  const agentA = r("host", "agent-a", {
    accountId: "agents",
    accountKind: "agents",
    ips: ["10.0.1.5"],
    attrs: { agentId: "agent-a" },
  });
  const agentB = r("host", "agent-b", {
    accountId: "agents",
    accountKind: "agents",
    ips: ["10.0.1.6"],
    attrs: { agentId: "agent-b" },
  });
  const agentX = r("host", "agent-x", {
    accountId: "agents",
    accountKind: "agents",
    ips: ["192.168.9.9"],
    attrs: { agentId: "agent-x" },
  });
  const all = [
    region,
    az,
    vpcA,
    vpcB,
    subA,
    subB,
    webA,
    eniA,
    webB,
    agentHostA,
    agentHostB,
    agentA,
    agentB,
    agentX,
  ];
  return { all, region, az, vpcA, vpcB, subA, subB, webA, webB, agentA, agentX };
}

describe("tag dictionary", () => {
  it("two VPCs both using 10.0.0.0/16 resolve to different VPC ids by the agent's VPC", () => {
    const t = twoVpcs();
    const d = new TagDictionary(1, t.all);
    const ctxA = d.contextFor("agent-a", 0);
    const ctxB = d.contextFor("agent-b", 0);
    expect(ctxA).toBe(t.vpcA.tagId);
    expect(ctxB).toBe(t.vpcB.tagId);
    const a = d.resolve("10.0.1.10", ctxA);
    const b = d.resolve("10.0.1.10", ctxB);
    expect(a).toMatchObject({
      resourceId: t.webA.tagId,
      host: t.webA.tagId,
      vpc: t.vpcA.tagId,
      subnet: t.subA.tagId,
      az: t.az.tagId,
      region: t.region.tagId,
    });
    expect(b).toMatchObject({
      resourceId: t.webB.tagId,
      host: t.webB.tagId,
      vpc: t.vpcB.tagId,
      subnet: t.subB.tagId,
    });
    // an address only the ENI holds stands for its instance
    expect(d.resolve("10.0.1.11", ctxA)).toMatchObject({ resourceId: t.webA.tagId, host: t.webA.tagId });
    // longest prefix: a free address of the /24 is the subnet; of the /16 only, the VPC
    expect(d.resolve("10.0.1.200", ctxB)).toMatchObject({
      resourceId: t.subB.tagId,
      subnet: t.subB.tagId,
      vpc: t.vpcB.tagId,
    });
    expect(d.resolve("10.0.7.1", ctxA)).toMatchObject({
      resourceId: t.vpcA.tagId,
      vpc: t.vpcA.tagId,
      subnet: 0,
    });
  });

  it("tells them apart by tunnel id before the agent, and leaves an ambiguous address untagged without context", () => {
    const t = twoVpcs();
    const d = new TagDictionary(1, t.all);
    expect(d.contextFor("agent-a", 4242)).toBe(t.vpcB.tagId);
    expect(d.contextFor("agent-a", 7)).toBe(t.vpcA.tagId); // unknown tunnel id: the agent's VPC
    const noCtx = d.contextFor("agent-x", 0);
    expect(noCtx).toBe(0);
    expect(d.resolve("10.0.1.10", noCtx).resourceId).toBe(0);
    expect(d.resolve("10.0.1.200", noCtx).resourceId).toBe(0);
    // an address one VPC alone claims is tagged from anywhere (peering)
    expect(d.resolve("10.0.1.5", noCtx)).toMatchObject({ vpc: t.vpcA.tagId });
    // the agent's own host answers for an IP no cloud resource holds
    expect(d.resolve("192.168.9.9", noCtx)).toMatchObject({
      resourceId: t.agentX.tagId,
      host: t.agentX.tagId,
    });
    expect(d.resolve("8.8.8.8", t.vpcA.tagId).resourceId).toBe(0);
    expect(d.resolve("::ffff:10.0.1.10", t.vpcA.tagId).resourceId).toBe(t.webA.tagId);
  });

  it("a pinned agent VPC (attrs.agentId + attrs.vpc) wins over IP matching", () => {
    const t = twoVpcs();
    const pin: TDictResource = {
      accountId: "m",
      accountKind: "manual",
      kind: "appliance",
      externalId: "pin",
      tagId: 999,
      refs: {},
      cidr: null,
      ips: [],
      attrs: { agentId: "agent-x", vpc: "vpc-b" },
    };
    const d = new TagDictionary(1, [...t.all, pin]);
    expect(d.contextFor("agent-x", 0)).toBe(t.vpcB.tagId);
  });

  it("resolves pods with namespace, workload, service and node; pods beat the service of the same VPC", () => {
    r.reset();
    const K = "k8s";
    const k = (kind: string, externalId: string, extra: Partial<TDictResource> = {}) =>
      r(kind, externalId, { accountId: K, accountKind: "kubernetes", ...extra });
    const cluster = k("k8s_cluster", "cluster", { attrs: {} });
    const ns = k("namespace", "shop", { refs: { k8s_cluster: "cluster" } });
    const node = k("k8s_node", "node-1", { ips: ["10.0.1.21"], refs: { k8s_cluster: "cluster" } });
    const wl = k("workload", "shop/Deployment/web", { refs: { namespace: "shop", k8s_cluster: "cluster" } });
    const svc = k("service", "shop/web", {
      ips: ["10.96.0.10"],
      refs: { namespace: "shop", k8s_cluster: "cluster" },
    });
    const pod = k("pod", "shop/web-1", {
      ips: ["10.244.1.5"],
      refs: {
        namespace: "shop",
        k8s_node: "node-1",
        workload: "shop/Deployment/web",
        service: "shop/web",
        k8s_cluster: "cluster",
      },
    });
    const d = new TagDictionary(3, [cluster, ns, node, wl, svc, pod]);
    expect(d.resolve("10.244.1.5")).toEqual({
      resourceId: pod.tagId,
      pod: pod.tagId,
      namespace: ns.tagId,
      workload: wl.tagId,
      service: svc.tagId,
      k8s_node: node.tagId,
      k8s_cluster: cluster.tagId,
      region: 0,
      az: 0,
      vpc: 0,
      subnet: 0,
      host: 0,
    });
    expect(d.resolve("10.96.0.10")).toMatchObject({
      resourceId: svc.tagId,
      service: svc.tagId,
      namespace: ns.tagId,
      pod: 0,
    });
  });
});

describe("tag dictionary, IPv6", () => {
  it("matches IPv6 subnets and VPCs by longest prefix, within the VPC context like IPv4", () => {
    r.reset();
    const vpcA = r("vpc", "vpc-a6", { cidr: "fd00:a::/48" });
    const vpcB = r("vpc", "vpc-b6", { cidr: "fd00:a::/48", attrs: { vni: 77 } });
    const subA = r("subnet", "sub-a6", { cidr: "fd00:a:0:1::/64", refs: { vpc: "vpc-a6" } });
    const subB = r("subnet", "sub-b6", { cidr: "fd00:a:0:1::/64", refs: { vpc: "vpc-b6" } });
    const public6 = r("subnet", "sub-pub6", { cidr: "2001:db8:100::/40", refs: { vpc: "vpc-a6" } });
    const host = r("host", "i-a6", { ips: ["fd00:a:0:1::10"], refs: { vpc: "vpc-a6", subnet: "sub-a6" } });
    const d = new TagDictionary(1, [vpcA, vpcB, subA, subB, public6, host]);
    const ctxB = d.contextFor(undefined, 77);
    expect(ctxB).toBe(vpcB.tagId);
    // Exact address first, then the /64, then the /48, in the context's VPC.
    expect(d.resolve("FD00:A:0:1::10", vpcA.tagId)).toMatchObject({
      resourceId: host.tagId,
      subnet: subA.tagId,
    });
    expect(d.resolve("fd00:a:0:1:0:0:0:99", vpcA.tagId)).toMatchObject({
      resourceId: subA.tagId,
      vpc: vpcA.tagId,
    });
    expect(d.resolve("fd00:a:0:1::99", ctxB)).toMatchObject({ resourceId: subB.tagId, vpc: vpcB.tagId });
    expect(d.resolve("fd00:a:0:2::1", ctxB)).toMatchObject({ resourceId: vpcB.tagId });
    // Without a context, the overlapping range stays untagged; a range one VPC claims does not.
    expect(d.resolve("fd00:a:0:1::99").resourceId).toBe(0);
    expect(d.resolve("2001:db8:1ff:ffff::1")).toMatchObject({ resourceId: public6.tagId, vpc: vpcA.tagId });
    expect(d.resolve("2001:db8:200::1").resourceId).toBe(0);
    // IPv4 and junk never reach the IPv6 tables.
    expect(d.resolve("10.0.0.1").resourceId).toBe(0);
    expect(d.resolve("fd00:a::1::2").resourceId).toBe(0);
  });
});
