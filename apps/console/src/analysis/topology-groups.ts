/**
 * The topology page's groupings (the query's TOPOLOGY_GROUPS with their labels) and how a node
 * of one turns back into filters of the flow and L7 pages (drill-down).
 */

export type DrillFilter = { column: string; op: "eq"; value: string | number };

export const BASE_GROUPS = [
  ["service", "IP:port"],
  ["ip", "IP"],
  ["port", "Server port"],
  ["agent", "Agent"],
  ["l7_protocol", "L7 protocol"],
  ["group", "Agent group"],
] as const;

/** Resource-tag levels (AutoTagging), by both sides' resource; `word` is the query's fallback name. */
export const TAG_GROUPS = [
  ["resource", "Resource (most specific tag)", "resource"],
  ["region", "Region", "region"],
  ["az", "Availability zone", "AZ"],
  ["vpc", "VPC", "VPC"],
  ["subnet", "Subnet", "subnet"],
  ["host", "Host", "host"],
  ["k8s_cluster", "K8s cluster", "K8s cluster"],
  ["k8s_node", "K8s node", "K8s node"],
  ["namespace", "K8s namespace", "namespace"],
  ["k8s_service", "K8s service", "K8s service"],
  ["workload", "K8s workload", "workload"],
  ["pod", "K8s pod", "pod"],
] as const;

export type TopologyGroup = (typeof BASE_GROUPS)[number][0] | (typeof TAG_GROUPS)[number][0] | "label";

const ALL: readonly string[] = [...BASE_GROUPS.map((g) => g[0]), ...TAG_GROUPS.map((g) => g[0]), "label"];

/** The `group` URL value as a grouping (IP:port when missing or unknown). */
export function readGroup(v: string | null): TopologyGroup {
  return v && ALL.includes(v) ? (v as TopologyGroup) : "service";
}

/** A label key as the query accepts it (1-253 characters), or undefined. */
export function readLabelKey(v: string | null): string | undefined {
  const k = v?.trim();
  return k && k.length <= 253 ? k : undefined;
}

const IP_TEXT = /^(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9a-fA-F:]*:[0-9a-fA-F:.]*)$/;

/**
 * Filters selecting a node's rows on one side. Nodes without a name to filter by (`untagged`,
 * a tag whose name is unknown, `no <key>`) give none: the drill then shows the whole range.
 */
export function nodeFilters(group: TopologyGroup, node: string, side: "client" | "server"): DrillFilter[] {
  const tag = TAG_GROUPS.find((g) => g[0] === group);
  if (tag) {
    if (node === "untagged" || new RegExp(`^${tag[2]} \\d+$`).test(node)) return [];
    return [{ column: `${side}_${group}`, op: "eq", value: node }];
  }
  if (group === "label") {
    return /^[^=]+=/.test(node) ? [{ column: `${side}_label`, op: "eq", value: node }] : [];
  }
  const agent = /^agent ([0-9a-f-]{36})$/.exec(node)?.[1];
  if (agent) return [{ column: "agent_id", op: "eq", value: agent }];
  const gid = /^group (\d+)$/.exec(node)?.[1];
  if (gid) return [{ column: "group_id", op: "eq", value: Number(gid) }];
  const port = /^port (\d+)$/.exec(node)?.[1];
  if (port) return [{ column: "server_port", op: "eq", value: Number(port) }];
  if (group === "l7_protocol" && side === "server")
    return node === "unknown" ? [] : [{ column: "l7_protocol", op: "eq", value: node }];
  // Server nodes of these groupings are `<ip>:<port>` (IPv6 too: the port follows the last colon).
  const withPort = side === "server" && (group === "service" || group === "agent" || group === "group");
  const m = withPort ? /^(.*):(\d+)$/.exec(node) : null;
  const ip = m ? m[1] : node;
  if (!ip || !IP_TEXT.test(ip)) return [];
  const out: DrillFilter[] = [{ column: `${side}_ip`, op: "eq", value: ip }];
  if (m?.[2]) out.push({ column: "server_port", op: "eq", value: Number(m[2]) });
  return out;
}
