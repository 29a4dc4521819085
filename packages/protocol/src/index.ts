// @flowplane/protocol: the messages agent and controller exchange, validated with zod on both
// sides. Pure: no I/O, safe to import anywhere.
export * from "./config.ts";
export * from "./enroll.ts";
export * from "./errors.ts";
export * from "./ingest.ts";
export * from "./npb.ts";
export * from "./sync.ts";
export * from "./version.ts";
