import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A local stand-in for the Kubernetes API server: the list endpoints the Kubernetes source reads,
 * with `limit`/`continue` paging and bearer-token checks, answering JSON in the API's shapes
 * (v1 and apps/v1 lists, a v1 Status on errors).
 */
export type TFakeCluster = {
  nodes: unknown[];
  namespaces: unknown[];
  pods: unknown[];
  services: unknown[];
  endpoints: unknown[];
  deployments: unknown[];
  replicasets: unknown[];
  statefulsets: unknown[];
  daemonsets: unknown[];
};

export type TFakeKube = {
  url: string;
  token: string;
  calls: Record<string, number>;
  cluster: TFakeCluster;
  close(): Promise<void>;
};

const ROUTES: Record<string, [keyof TFakeCluster, string, string]> = {
  "/api/v1/nodes": ["nodes", "NodeList", "v1"],
  "/api/v1/namespaces": ["namespaces", "NamespaceList", "v1"],
  "/api/v1/pods": ["pods", "PodList", "v1"],
  "/api/v1/services": ["services", "ServiceList", "v1"],
  "/api/v1/endpoints": ["endpoints", "EndpointsList", "v1"],
  "/apis/apps/v1/deployments": ["deployments", "DeploymentList", "apps/v1"],
  "/apis/apps/v1/replicasets": ["replicasets", "ReplicaSetList", "apps/v1"],
  "/apis/apps/v1/statefulsets": ["statefulsets", "StatefulSetList", "apps/v1"],
  "/apis/apps/v1/daemonsets": ["daemonsets", "DaemonSetList", "apps/v1"],
};

export async function startFakeKube(cluster: TFakeCluster, token = "kube-token-xyz"): Promise<TFakeKube> {
  const fake: TFakeKube = { url: "", token, calls: {}, cluster, close: async () => {} };
  const server: Server = createServer((req, res) => {
    const u = new URL(req.url ?? "/", "http://x");
    fake.calls[u.pathname] = (fake.calls[u.pathname] ?? 0) + 1;
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== `Bearer ${fake.token}`) {
      json(401, {
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Failure",
        message: "Unauthorized",
        reason: "Unauthorized",
        code: 401,
      });
      return;
    }
    const route = ROUTES[u.pathname];
    if (!route) {
      json(404, {
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Failure",
        message: "the server could not find the requested resource",
        reason: "NotFound",
        code: 404,
      });
      return;
    }
    const [key, kind, apiVersion] = route;
    const items = fake.cluster[key];
    const limit = Number(u.searchParams.get("limit") ?? items.length) || items.length;
    const start = Number(u.searchParams.get("continue") ?? 0);
    const next = start + limit < items.length ? String(start + limit) : undefined;
    json(200, {
      kind,
      apiVersion,
      metadata: { resourceVersion: "100", ...(next ? { continue: next } : {}) },
      items: items.slice(start, start + limit),
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return fake;
}

const meta = (name: string, namespace?: string, extra: Record<string, unknown> = {}) => ({
  name,
  ...(namespace ? { namespace } : {}),
  uid: `uid-${namespace ?? ""}-${name}`,
  ...extra,
});

/** A small cluster: 2 nodes, a Deployment (via its ReplicaSet) behind a Service, a StatefulSet pod. */
export function sampleCluster(): TFakeCluster {
  const pod = (
    name: string,
    ip: string,
    node: string,
    owner: { kind: string; name: string },
    labels: Record<string, string>,
  ) => ({
    metadata: meta(name, "shop", {
      labels,
      ownerReferences: [
        { apiVersion: "apps/v1", kind: owner.kind, name: owner.name, uid: "o", controller: true },
      ],
    }),
    spec: { nodeName: node, containers: [{ name: "c", image: "x" }] },
    status: { phase: "Running", podIP: ip, podIPs: [{ ip }] },
  });
  return {
    nodes: [
      {
        metadata: meta("node-1", undefined, { labels: { zone: "a" } }),
        status: {
          addresses: [
            { type: "InternalIP", address: "10.0.1.21" },
            { type: "Hostname", address: "node-1" },
          ],
        },
      },
      { metadata: meta("node-2"), status: { addresses: [{ type: "InternalIP", address: "10.0.1.22" }] } },
    ],
    namespaces: [
      { metadata: meta("shop", undefined, { labels: { team: "payments" } }) },
      { metadata: meta("kube-system") },
    ],
    pods: [
      pod(
        "web-7d9f-abc",
        "10.244.1.5",
        "node-1",
        { kind: "ReplicaSet", name: "web-7d9f" },
        { app: "web", tier: "front" },
      ),
      pod(
        "web-7d9f-def",
        "10.244.2.6",
        "node-2",
        { kind: "ReplicaSet", name: "web-7d9f" },
        { app: "web", tier: "front" },
      ),
      pod("db-0", "10.244.1.9", "node-1", { kind: "StatefulSet", name: "db" }, { app: "db" }),
      {
        metadata: meta("done-job", "shop"),
        spec: { nodeName: "node-1" },
        status: { phase: "Succeeded", podIP: "10.244.1.77" },
      },
    ],
    services: [
      {
        metadata: meta("web", "shop", { labels: { app: "web" } }),
        spec: {
          type: "ClusterIP",
          clusterIP: "10.96.0.10",
          clusterIPs: ["10.96.0.10"],
          selector: { app: "web" },
        },
      },
      { metadata: meta("db", "shop"), spec: { clusterIP: "None", selector: { app: "db" } } },
    ],
    endpoints: [
      {
        metadata: meta("web", "shop"),
        subsets: [
          {
            addresses: [
              { ip: "10.244.1.5", targetRef: { kind: "Pod", name: "web-7d9f-abc", namespace: "shop" } },
              { ip: "10.244.2.6", targetRef: { kind: "Pod", name: "web-7d9f-def", namespace: "shop" } },
            ],
          },
        ],
      },
      {
        metadata: meta("db", "shop"),
        subsets: [
          { addresses: [{ ip: "10.244.1.9", targetRef: { kind: "Pod", name: "db-0", namespace: "shop" } }] },
        ],
      },
    ],
    deployments: [
      { metadata: meta("web", "shop", { labels: { app: "web" } }), spec: { selector: {}, template: {} } },
    ],
    replicasets: [
      {
        metadata: meta("web-7d9f", "shop", {
          ownerReferences: [
            { apiVersion: "apps/v1", kind: "Deployment", name: "web", uid: "d", controller: true },
          ],
        }),
        spec: { selector: {} },
      },
    ],
    statefulsets: [{ metadata: meta("db", "shop"), spec: { selector: {}, template: {}, serviceName: "db" } }],
    daemonsets: [],
  };
}
