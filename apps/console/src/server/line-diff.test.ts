import { describe, expect, it } from "vitest";
import { configText, validateAgentConfig } from "./agent-config.ts";
import { lineDiff } from "./line-diff.ts";

describe("lineDiff", () => {
  it("keeps common lines and marks removed and added ones in order", () => {
    expect(lineDiff("a\nb\nc", "a\nx\nc\nd")).toEqual([
      { op: "same", text: "a" },
      { op: "del", text: "b" },
      { op: "add", text: "x" },
      { op: "same", text: "c" },
      { op: "add", text: "d" },
    ]);
  });
  it("an identical text is all 'same'", () => {
    expect(lineDiff("a\nb", "a\nb").every((l) => l.op === "same")).toBe(true);
  });
});

describe("agent config", () => {
  it("fills defaults, sorts keys, and names the path of a bad field", () => {
    const ok = validateAgentConfig({ limits: { maxCpuPct: 20 } });
    expect(ok.ok && ok.config.limits.maxCpuPct).toBe(20);
    expect(configText({ b: 1, a: { d: 1, c: 2 } })).toBe(configText({ a: { c: 2, d: 1 }, b: 1 }));
    const bad = validateAgentConfig({ limits: { maxCpuPct: 500 }, nope: 1 });
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      expect(bad.issues.some((i) => i.startsWith("limits.maxCpuPct:"))).toBe(true);
      expect(bad.issues.some((i) => i.includes("nope"))).toBe(true);
    }
  });
});
