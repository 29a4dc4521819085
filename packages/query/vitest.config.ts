import { defineConfig } from "vitest/config";

// The JSON report is what scripts/test.mjs totals into the final "N passed, N failed" line.
export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    reporters: [
      "default",
      ["json", { outputFile: process.env.FLOWPLANE_VITEST_REPORT ?? ".vitest-report.json" }],
    ],
    testTimeout: 30_000,
    hookTimeout: 120_000,
  },
});
