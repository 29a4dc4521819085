import { z } from "zod";
import type { ClickHouseClient } from "../client.ts";
import { OrgScopeError, orgQuery } from "../client.ts";
import { ZTagKind, zUuid } from "../rows/index.ts";

export const ZUpsertTagsParams = z.object({
  orgId: zUuid,
  kind: ZTagKind,
  tags: z
    .array(z.object({ id: z.number().int().min(1).max(4_294_967_295), name: z.string().min(1).max(256) }))
    .min(1),
});

/** Names (or renames) tag ids of one org; rows keep their ids, so old rows show the new name. */
export async function upsertTags(
  client: ClickHouseClient,
  input: z.input<typeof ZUpsertTagsParams>,
): Promise<void> {
  const p = ZUpsertTagsParams.safeParse(input);
  if (!p.success) throw new OrgScopeError(`upsertTags: ${p.error.issues[0]?.message ?? "invalid input"}`);
  await client.insert({
    table: "tag_dict",
    values: p.data.tags.map((t) => ({ org_id: p.data.orgId, tag_kind: p.data.kind, id: t.id, name: t.name })),
    format: "JSONEachRow",
  });
}

/** The current name of each tag id of one kind in one org. */
export async function tagNames(
  client: ClickHouseClient,
  input: { orgId: string; kind: z.input<typeof ZTagKind> },
): Promise<Map<number, string>> {
  const kind = ZTagKind.parse(input.kind);
  const rows = await orgQuery<{ id: number; name: string }>(
    client,
    input.orgId,
    `SELECT id, argMax(name, updated_at) AS name FROM tag_dict
     WHERE org_id = {org_id:UUID} AND tag_kind = {kind:String} GROUP BY id`,
    { kind },
  );
  return new Map(rows.map((r) => [Number(r.id), r.name]));
}
