import { describe, expect, it } from "vitest";
import { expectedShape, loadDmmf } from "./drift.ts";
import { MODEL_SCOPE } from "./tenancy.ts";

// Guards the tenancy rules of the schema itself, so a new model cannot quietly skip them.
describe("schema tenancy rules", async () => {
  const dmmf = await loadDmmf();
  const shape = expectedShape(dmmf);

  it("every model with orgId is scoped as a tenant model, and every tenant model has orgId", () => {
    for (const m of dmmf.datamodel.models) {
      const hasOrg = m.fields.some((f) => f.name === "orgId");
      const scope = (MODEL_SCOPE as Record<string, string>)[m.name];
      expect(scope, m.name).toBeDefined();
      expect(scope === "tenant", `${m.name}: has orgId=${hasOrg} but scope=${scope}`).toBe(hasOrg);
    }
  });

  it("every tenant table has a uuid org_id, an index led by it, and an ON DELETE CASCADE FK to organizations", () => {
    for (const m of dmmf.datamodel.models.filter(
      (x) => (MODEL_SCOPE as Record<string, string>)[x.name] === "tenant",
    )) {
      const table = m.dbName ?? m.name;
      expect(shape.tables.get(table)?.get("org_id")).toMatchObject({ type: "uuid", nullable: false });
      const led = [...shape.indexes].some(
        (i) => i.startsWith(`${table}:`) && /:(?:index|unique|pk)\(org_id[,)]/.test(i),
      );
      expect(led, `${table} has no index led by org_id`).toBe(true);
      expect(shape.foreignKeys).toContain(
        `${table}(org_id) -> organizations(id) on delete cascade on update cascade`,
      );
    }
  });

  it("every id is a database-generated uuid", () => {
    for (const [table, cols] of shape.tables) {
      const id = cols.get("id");
      if (table === "verification_tokens") continue; // keyed by (identifier, token), as next-auth expects
      expect(id, table).toMatchObject({ type: "uuid", default: "gen_random_uuid()" });
    }
  });
});
