import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { can, PERMISSIONS, ROLES, roleAtLeast, type TPermission, type TRole } from "./roles.ts";

describe("permission matrix", () => {
  it("is monotonic: a role holds every permission of the roles below it", () => {
    for (const permission of Object.keys(PERMISSIONS) as TPermission[]) {
      const allowed = ROLES.map((r) => can(r, permission));
      // ROLES is ordered owner → viewer, so once a role lacks a permission every lower one does too.
      const firstDenied = allowed.indexOf(false);
      if (firstDenied >= 0) expect(allowed.slice(firstDenied).every((a) => !a)).toBe(true);
      expect(can("owner", permission)).toBe(true);
    }
  });

  it("answers the questions the product asks", () => {
    expect(can("viewer", "agents.read")).toBe(true);
    expect(can("viewer", "agents.write")).toBe(false);
    expect(can("editor", "agents.write")).toBe(true);
    expect(can("editor", "apikeys.write")).toBe(false);
    expect(can("admin", "apikeys.write")).toBe(true);
    expect(can("admin", "org.delete")).toBe(false);
    expect(can("owner", "org.delete")).toBe(true);
    expect(roleAtLeast("admin", "owner")).toBe(false);
  });

  it("refuses unknown roles and permissions instead of guessing", () => {
    expect(can("superuser", "agents.read")).toBe(false);
    expect(can(undefined, "agents.read")).toBe(false);
    expect(can("owner", "nuke.everything" as TPermission)).toBe(false);
  });

  it("matches the table in README.md", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const section = readme.split(/^## /m).find((s) => s.startsWith("Permissions")) ?? "";
    const rows = [...section.matchAll(/^\|\s*`([a-z.]+)`\s*\|(.+)\|\s*$/gm)];
    const documented = Object.fromEntries(
      rows.map(([, permission, cells]) => [
        permission,
        (cells ?? "").split("|").map((c) => c.trim() === "✓"),
      ]),
    );
    const actual = Object.fromEntries(
      (Object.keys(PERMISSIONS) as TPermission[]).map((p) => [p, ROLES.map((r) => can(r, p))]),
    );
    expect(documented).toEqual(actual);
  });
});

describe("roles and the schema's Role enum", () => {
  it("are the same set", async () => {
    const { Role } = await import("./generated/prisma/browser.ts");
    expect(Object.values(Role).sort()).toEqual([...ROLES].sort());
    // Compile-time: both directions assignable (checked by `npm run typecheck`).
    const asEnum: import("./generated/prisma/browser.ts").Role = "viewer" satisfies TRole;
    const asRole: TRole = asEnum;
    expect(asRole).toBe("viewer");
  });
});
