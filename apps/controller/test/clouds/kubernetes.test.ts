import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { syncKubernetes } from "../../src/clouds/sources/kubernetes.ts";
import { sampleCluster, startFakeKube, type TFakeKube } from "./fake-kube.ts";

describe("Kubernetes source against a local API server", () => {
  let fake: TFakeKube;
  beforeAll(async () => {
    fake = await startFakeKube(sampleCluster());
  });
  afterAll(async () => fake?.close());

  it("lists nodes, namespaces, workloads, services and pods (IPs, labels apart), following continue", async () => {
    const out = await syncKubernetes(
      { server: fake.url, token: fake.token, skipTLSVerify: true, pageSize: 1, vpc: "vpc-a" },
      "prod-eks",
    );
    const ids = (k: string) =>
      out
        .filter((r) => r.kind === k)
        .map((r) => r.externalId)
        .sort();
    expect(out.find((r) => r.kind === "k8s_cluster")).toMatchObject({
      name: "prod-eks",
      attrs: { vpc: "vpc-a" },
    });
    expect(ids("k8s_node")).toEqual(["node-1", "node-2"]);
    expect(ids("namespace")).toEqual(["kube-system", "shop"]);
    expect(ids("workload")).toEqual(["shop/Deployment/web", "shop/StatefulSet/db"]);
    expect(ids("service")).toEqual(["shop/db", "shop/web"]);
    expect(ids("pod")).toEqual(["shop/db-0", "shop/web-7d9f-abc", "shop/web-7d9f-def"]); // Succeeded pods left out
    const web = out.find((r) => r.externalId === "shop/web-7d9f-abc");
    expect(web).toMatchObject({
      name: "web-7d9f-abc",
      ips: ["10.244.1.5"],
      labels: { app: "web", tier: "front" },
      refs: {
        namespace: "shop",
        k8s_node: "node-1",
        workload: "shop/Deployment/web",
        service: "shop/web",
        k8s_cluster: "cluster",
      },
    });
    expect(out.find((r) => r.externalId === "shop/web")).toMatchObject({
      ips: ["10.96.0.10"],
      attrs: { selector: { app: "web" } },
    });
    expect(out.find((r) => r.externalId === "shop/db")?.ips).toEqual([]); // headless
    expect(out.find((r) => r.externalId === "node-1")?.ips).toEqual(["10.0.1.21"]);
    // page size 1: 4 pods → 4 requests
    expect(fake.calls["/api/v1/pods"]).toBe(4);
  });

  it("fails with the API server's status on a bad token", async () => {
    await expect(syncKubernetes({ server: fake.url, token: "wrong", skipTLSVerify: true })).rejects.toThrow(
      /401|Unauthorized/,
    );
  });
});
