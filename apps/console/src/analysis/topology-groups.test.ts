import { describe, expect, it } from "vitest";
import { nodeFilters, readGroup, readLabelKey } from "./topology-groups.ts";

describe("topology groups", () => {
  it("reads the grouping and label key from the URL", () => {
    expect(readGroup("namespace")).toBe("namespace");
    expect(readGroup("label")).toBe("label");
    expect(readGroup("org_id")).toBe("service");
    expect(readGroup(null)).toBe("service");
    expect(readLabelKey(" app ")).toBe("app");
    expect(readLabelKey("")).toBeUndefined();
    expect(readLabelKey("x".repeat(254))).toBeUndefined();
  });

  it("turns a node back into filters of its side", () => {
    expect(nodeFilters("namespace", "shop", "client")).toEqual([
      { column: "client_namespace", op: "eq", value: "shop" },
    ]);
    expect(nodeFilters("vpc", "untagged", "server")).toEqual([]);
    expect(nodeFilters("vpc", "VPC 12", "server")).toEqual([]);
    expect(nodeFilters("label", "app=web", "server")).toEqual([
      { column: "server_label", op: "eq", value: "app=web" },
    ]);
    expect(nodeFilters("label", "no app", "server")).toEqual([]);
    expect(nodeFilters("service", "10.2.0.1:8080", "server")).toEqual([
      { column: "server_ip", op: "eq", value: "10.2.0.1" },
      { column: "server_port", op: "eq", value: 8080 },
    ]);
    expect(nodeFilters("ip", "2001:db8::1", "client")).toEqual([
      { column: "client_ip", op: "eq", value: "2001:db8::1" },
    ]);
    expect(nodeFilters("service", "2001:db8::2:8080", "server")).toEqual([
      { column: "server_ip", op: "eq", value: "2001:db8::2" },
      { column: "server_port", op: "eq", value: 8080 },
    ]);
    expect(nodeFilters("port", "port 3306", "server")).toEqual([
      { column: "server_port", op: "eq", value: 3306 },
    ]);
    expect(nodeFilters("group", "group 3", "client")).toEqual([{ column: "group_id", op: "eq", value: 3 }]);
  });
});
