import { createElement } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { DataTable, EmptyState, formatCell } from "./index.ts";

describe("formatCell", () => {
  it("shows a dash for missing values and formats times", () => {
    expect(formatCell("text", null)).toBe("—");
    expect(formatCell("number", 12345)).toBe("12,345");
    expect(formatCell("datetime", "2026-01-02T03:04:05.000Z")).toBe("2026-01-02 03:04:05");
    const now = Date.parse("2026-01-02T03:05:05Z");
    expect(formatCell("relative", "2026-01-02T03:04:05Z", now)).toBe("1m ago");
  });
});

describe("DataTable", () => {
  it("renders rows with state badges and links, and an empty state without rows", () => {
    const columns = [
      { id: "name", header: "Name", linkKey: "href" },
      { id: "state", header: "State", kind: "state" as const },
    ];
    const html = renderToStaticMarkup(
      createElement(DataTable, {
        columns,
        rows: [{ id: "a1", name: "edge-1", state: "online", href: "/x" }],
      }),
    );
    expect(html).toContain("<table");
    expect(html).toContain('href="/x"');
    expect(html).toContain("fp-badge-ok");
    const empty = renderToStaticMarkup(
      createElement(DataTable, {
        columns,
        rows: [],
        empty: createElement(EmptyState, { title: "No agents" }),
      }),
    );
    expect(empty).toContain("No agents");
  });
});

describe("relative times in the future", () => {
  it("reads 'in …' for expiries and 'just now' for small clock skew", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(formatCell("relative", new Date(now + 2 * 3600_000 + 5000).toISOString(), now)).toBe("in 2h");
    expect(formatCell("relative", new Date(now + 2000).toISOString(), now)).toBe("just now");
  });
});
