import { ZLimitsConfig } from "@flowplane/protocol";
import { describe, expect, it } from "vitest";
import { AGENT_CONFIG_HELP } from "./agent-config.ts";

describe("agent configuration help", () => {
  it("explains every limit field, with the default the schema fills in", () => {
    const defaults = ZLimitsConfig.parse({});
    for (const [field, value] of Object.entries(defaults)) {
      const help = AGENT_CONFIG_HELP[`limits.${field}`];
      expect(help, field).toBeDefined();
      expect(help, field).toContain(`default ${value}`);
    }
  });

  it("describes the steps and automatic recovery, not a single protective mode", () => {
    const limits = AGENT_CONFIG_HELP.limits ?? "";
    for (const step of ["sheds", "degraded", "L7 parsing off", "protective", "stops capture", "by itself"])
      expect(limits).toContain(step);
    expect(limits).not.toContain("enters protective mode");
  });
});
