import { z } from "zod";
import { zUuid } from "./columns.ts";

/**
 * SmartEncoding: rows carry integer tag ids; `tag_dict` maps (org_id, tag_kind, id) → name and is
 * joined at query time, so renaming a tag renames it on old rows too.
 */
export const TAG_KINDS = ["agent_group", "resource"] as const;
export const ZTagKind = z.enum(TAG_KINDS);
export type TTagKind = z.infer<typeof ZTagKind>;

/** Which row column holds ids of which tag kind. */
export const TAG_COLUMNS = {
  group_id: "agent_group",
  client_resource_id: "resource",
  server_resource_id: "resource",
} as const satisfies Record<string, TTagKind>;

export const ZTagDictRow = z.object({
  org_id: zUuid,
  tag_kind: ZTagKind,
  id: z.number().int().min(1).max(4_294_967_295),
  name: z.string().min(1).max(256),
});
export type TTagDictRow = z.output<typeof ZTagDictRow>;
