import { resource, type TSourceResource, ZKubernetesCredentials } from "@flowplane/db/clouds";
import { AppsV1Api, CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import type { z } from "zod";

const CLUSTER = "cluster";

function kubeConfig(c: z.infer<typeof ZKubernetesCredentials>): KubeConfig {
  const kc = new KubeConfig();
  if (c.kubeconfig) {
    kc.loadFromString(c.kubeconfig);
    return kc;
  }
  kc.loadFromOptions({
    clusters: [
      {
        name: "c",
        server: c.server ?? "",
        skipTLSVerify: c.skipTLSVerify,
        ...(c.caData ? { caData: c.caData } : {}),
      },
    ],
    users: [{ name: "u", ...(c.token ? { token: c.token } : {}) }],
    contexts: [{ name: "ctx", cluster: "c", user: "u" }],
    currentContext: "ctx",
  });
  return kc;
}

/** Follows `metadata.continue` until the list ends. */
async function listAll<T>(
  list: (p: {
    limit: number;
    _continue?: string;
  }) => Promise<{ items: T[]; metadata?: { _continue?: string } }>,
  limit: number,
): Promise<T[]> {
  const out: T[] = [];
  let token: string | undefined;
  do {
    const page = await list({ limit, ...(token ? { _continue: token } : {}) });
    out.push(...page.items);
    token = page.metadata?._continue || undefined;
  } while (token);
  return out;
}

/**
 * Nodes, namespaces, workloads (Deployments, StatefulSets, DaemonSets; a ReplicaSet's pods belong
 * to its Deployment), services (with their endpoints' pods) and pods (IPs, labels) of one cluster.
 */
export async function syncKubernetes(
  credentials: unknown,
  clusterName = "cluster",
): Promise<TSourceResource[]> {
  const c = ZKubernetesCredentials.parse(credentials);
  const kc = kubeConfig(c);
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const n = c.pageSize;
  const [nodes, namespaces, pods, services, endpoints, deployments, replicaSets, statefulSets, daemonSets] =
    await Promise.all([
      listAll((p) => core.listNode(p), n),
      listAll((p) => core.listNamespace(p), n),
      listAll((p) => core.listPodForAllNamespaces(p), n),
      listAll((p) => core.listServiceForAllNamespaces(p), n),
      listAll((p) => core.listEndpointsForAllNamespaces(p), n),
      listAll((p) => apps.listDeploymentForAllNamespaces(p), n),
      listAll((p) => apps.listReplicaSetForAllNamespaces(p), n),
      listAll((p) => apps.listStatefulSetForAllNamespaces(p), n),
      listAll((p) => apps.listDaemonSetForAllNamespaces(p), n),
    ]);
  const cluster = { k8s_cluster: CLUSTER };
  const out: TSourceResource[] = [
    resource({
      kind: "k8s_cluster",
      externalId: CLUSTER,
      name: clusterName,
      attrs: c.vpc ? { vpc: c.vpc } : {},
    }),
  ];
  for (const node of nodes) {
    const name = node.metadata?.name;
    if (!name) continue;
    const ips = (node.status?.addresses ?? []).filter((a) => a.type === "InternalIP").map((a) => a.address);
    out.push(
      resource({
        kind: "k8s_node",
        externalId: name,
        name,
        refs: cluster,
        ips,
        labels: node.metadata?.labels ?? {},
      }),
    );
  }
  for (const ns of namespaces) {
    const name = ns.metadata?.name;
    if (name)
      out.push(
        resource({
          kind: "namespace",
          externalId: name,
          name,
          refs: cluster,
          labels: ns.metadata?.labels ?? {},
        }),
      );
  }
  const workloadOf = new Map<string, string>(); // "ns/ReplicaSet/name" → workload external id
  const addWorkload = (kind: string, ns: string, name: string, labels: Record<string, string>) => {
    const id = `${ns}/${kind}/${name}`;
    out.push(
      resource({
        kind: "workload",
        externalId: id,
        name,
        refs: { ...cluster, namespace: ns },
        labels,
        attrs: { kind },
      }),
    );
    return id;
  };
  for (const d of deployments) {
    const { name, namespace } = d.metadata ?? {};
    if (name && namespace) addWorkload("Deployment", namespace, name, d.metadata?.labels ?? {});
  }
  for (const s of statefulSets) {
    const { name, namespace } = s.metadata ?? {};
    if (name && namespace)
      workloadOf.set(
        `${namespace}/StatefulSet/${name}`,
        addWorkload("StatefulSet", namespace, name, s.metadata?.labels ?? {}),
      );
  }
  for (const s of daemonSets) {
    const { name, namespace } = s.metadata ?? {};
    if (name && namespace)
      workloadOf.set(
        `${namespace}/DaemonSet/${name}`,
        addWorkload("DaemonSet", namespace, name, s.metadata?.labels ?? {}),
      );
  }
  for (const rs of replicaSets) {
    const { name, namespace } = rs.metadata ?? {};
    if (!name || !namespace) continue;
    const owner = rs.metadata?.ownerReferences?.find((o) => o.kind === "Deployment");
    workloadOf.set(
      `${namespace}/ReplicaSet/${name}`,
      owner
        ? `${namespace}/Deployment/${owner.name}`
        : addWorkload("ReplicaSet", namespace, name, rs.metadata?.labels ?? {}),
    );
  }
  const serviceOfPod = new Map<string, string>(); // "ns/pod" → first service (sorted) selecting it
  for (const ep of [...endpoints].sort((a, b) =>
    (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? ""),
  )) {
    const ns = ep.metadata?.namespace;
    const svc = ep.metadata?.name;
    if (!ns || !svc) continue;
    for (const subset of ep.subsets ?? []) {
      for (const addr of [...(subset.addresses ?? []), ...(subset.notReadyAddresses ?? [])]) {
        if (addr.targetRef?.kind !== "Pod" || !addr.targetRef.name) continue;
        const key = `${ns}/${addr.targetRef.name}`;
        if (!serviceOfPod.has(key)) serviceOfPod.set(key, `${ns}/${svc}`);
      }
    }
  }
  for (const s of services) {
    const { name, namespace } = s.metadata ?? {};
    if (!name || !namespace) continue;
    const ips = (s.spec?.clusterIPs ?? (s.spec?.clusterIP ? [s.spec.clusterIP] : [])).filter(
      (ip) => ip && ip !== "None",
    );
    out.push(
      resource({
        kind: "service",
        externalId: `${namespace}/${name}`,
        name,
        refs: { ...cluster, namespace },
        ips,
        labels: s.metadata?.labels ?? {},
        attrs: { selector: s.spec?.selector ?? {}, type: s.spec?.type ?? "ClusterIP" },
      }),
    );
  }
  for (const p of pods) {
    const { name, namespace } = p.metadata ?? {};
    if (!name || !namespace) continue;
    if (p.status?.phase === "Succeeded" || p.status?.phase === "Failed") continue;
    const owner = p.metadata?.ownerReferences?.find((o) => o.controller) ?? p.metadata?.ownerReferences?.[0];
    const workload = owner ? workloadOf.get(`${namespace}/${owner.kind}/${owner.name}`) : undefined;
    const service = serviceOfPod.get(`${namespace}/${name}`);
    const ips = (p.status?.podIPs ?? []).map((x) => x.ip).filter(Boolean);
    if (ips.length === 0 && p.status?.podIP) ips.push(p.status.podIP);
    out.push(
      resource({
        kind: "pod",
        externalId: `${namespace}/${name}`,
        name,
        refs: {
          ...cluster,
          namespace,
          ...(p.spec?.nodeName ? { k8s_node: p.spec.nodeName } : {}),
          ...(workload ? { workload } : {}),
          ...(service ? { service } : {}),
        },
        // hostNetwork pods share the node's IP: the node answers for it, not the pod.
        ips: p.spec?.hostNetwork ? [] : ips,
        labels: p.metadata?.labels ?? {},
      }),
    );
  }
  return out;
}
