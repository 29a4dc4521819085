export * from "./columns.ts";
export * from "./filters.ts";
export * from "./fixture.ts";
export * from "./metrics.ts";
export * from "./page.ts";
export * from "./topology.ts";
export * from "./trace.ts";
