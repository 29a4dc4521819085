import { z } from "zod";

export const RESOURCE_KINDS = [
  "region",
  "az",
  "vpc",
  "subnet",
  "host",
  "interface",
  "k8s_cluster",
  "k8s_node",
  "namespace",
  "service",
  "workload",
  "pod",
  "appliance",
] as const;
export const ZResourceKind = z.enum(RESOURCE_KINDS);
export type TResourceKind = z.infer<typeof ZResourceKind>;

/**
 * What every source's sync produces: one normalised list, reconciled into `cloud_resources`.
 * `refs` name parents by kind with their external ids in the same account.
 */
export const ZSourceResource = z.object({
  kind: ZResourceKind,
  externalId: z.string().min(1),
  name: z.string().min(1),
  refs: z.partialRecord(ZResourceKind, z.string()).default({}),
  cidr: z.string().optional(),
  ips: z.array(z.string()).default([]),
  labels: z.record(z.string(), z.string()).default({}),
  attrs: z.record(z.string(), z.unknown()).default({}),
});
export type TSourceResource = z.infer<typeof ZSourceResource>;
export type TSourceResourceInput = z.input<typeof ZSourceResource>;

export function resource(r: TSourceResourceInput): TSourceResource {
  return ZSourceResource.parse(r);
}
