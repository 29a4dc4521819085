/**
 * Resource tags at query time (issue 9): rows carry one resource id per side (SmartEncoding);
 * every coarser level (region … pod) and the Kubernetes labels come from `resource_tags`, names
 * from `tag_dict` (kind `resource`), both read as their latest version for the caller's org. So a
 * renamed resource shows its new name on old rows, and a filter by name matches the current name.
 * Everything here is fixed SQL text; values reach SQL only as bound parameters (filters.ts).
 */

/** Tag level → its column in `resource_tags` ("resource" is the row's own, most specific id). */
export const TAG_LEVELS = {
  resource: "id",
  region: "region_id",
  az: "az_id",
  vpc: "vpc_id",
  subnet: "subnet_id",
  host: "host_id",
  k8s_cluster: "k8s_cluster_id",
  k8s_node: "k8s_node_id",
  namespace: "namespace_id",
  k8s_service: "service_id",
  workload: "workload_id",
  pod: "pod_id",
} as const;
export type TTagLevel = keyof typeof TAG_LEVELS;
export const TAG_LEVEL_NAMES = Object.keys(TAG_LEVELS) as TTagLevel[];

const LEVEL_LABEL: Record<TTagLevel, string> = {
  resource: "resource",
  region: "region",
  az: "AZ",
  vpc: "VPC",
  subnet: "subnet",
  host: "host",
  k8s_cluster: "K8s cluster",
  k8s_node: "K8s node",
  namespace: "namespace",
  k8s_service: "K8s service",
  workload: "workload",
  pod: "pod",
};

/** What a tag filter column stands for: a level's name, or a `key=value` K8s label. */
export type TTagRef = { level: TTagLevel } | { label: true };

/** Each id's current levels and labels (the latest row per id wins). */
export function currentTagsSql(columns: readonly string[]): string {
  const cols = columns.map((c) => `argMax(${c}, updated_at) AS ${c}`).join(", ");
  return `(SELECT id, ${cols} FROM resource_tags WHERE org_id = {org_id:UUID} GROUP BY id)`;
}

/** Each id's current name. */
export const CURRENT_NAMES_SQL = `(SELECT id, argMax(name, updated_at) AS name FROM tag_dict
  WHERE org_id = {org_id:UUID} AND tag_kind = 'resource' GROUP BY id)`;

/**
 * Filter columns for the client and server side of a table whose rows carry
 * `<alias>.client_resource_id` / `<alias>.server_resource_id`: `server_vpc`, `client_pod`,
 * `server_label` (value `key=value`), … Typed String: the builder offers name operators. `sides`:
 * the sides the table has (application_metrics rows are summed over clients: server only).
 */
export function tagFilterColumns(
  alias: string,
  sides: readonly ("client" | "server")[] = ["client", "server"],
): Record<string, { sql: string; type: "String"; label: string; tag: TTagRef }> {
  const out: Record<string, { sql: string; type: "String"; label: string; tag: TTagRef }> = {};
  for (const side of sides) {
    const sql = `${alias}.${side}_resource_id`;
    const Side = side === "client" ? "Client" : "Server";
    for (const level of TAG_LEVEL_NAMES) {
      out[`${side}_${level}`] = {
        sql,
        type: "String",
        label: `${Side} ${LEVEL_LABEL[level]}`,
        tag: { level },
      };
    }
    out[`${side}_label`] = {
      sql,
      type: "String",
      label: `${Side} K8s label (key=value)`,
      tag: { label: true },
    };
  }
  return out;
}

/** Topology group-by of a tag level (or `label` with a key): node text per side. */
export function tagGroupKeys(
  level: TTagLevel | "label",
  side: "c" | "s",
  idSql: string,
): { joins: string; text: string } {
  const t = `${side}t`;
  const n = `${side}n`;
  if (level === "label") {
    const v = `${t}.labels[{label_key:String}]`;
    return {
      joins: `LEFT JOIN ${currentTagsSql(["labels"])} AS ${t} ON ${t}.id = ${idSql}`,
      text: `if(${v} = '', concat('no ', {label_key:String}), concat({label_key:String}, '=', ${v}))`,
    };
  }
  const word = LEVEL_LABEL[level];
  if (level === "resource") {
    return {
      joins: `LEFT JOIN ${CURRENT_NAMES_SQL} AS ${n} ON ${n}.id = ${idSql}`,
      text: `if(${idSql} = 0, 'untagged', if(${n}.name = '', concat('${word} ', toString(${idSql})), ${n}.name))`,
    };
  }
  const col = TAG_LEVELS[level];
  const id = `${t}.${col}`;
  return {
    joins: `LEFT JOIN ${currentTagsSql([col])} AS ${t} ON ${t}.id = ${idSql}
      LEFT JOIN ${CURRENT_NAMES_SQL} AS ${n} ON ${n}.id = ${id}`,
    text: `if(${id} = 0, 'untagged', if(${n}.name = '', concat('${word} ', toString(${id})), ${n}.name))`,
  };
}
