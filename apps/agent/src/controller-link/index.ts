// The agent's side of the controller protocol: enrolment, sync and the HTTP telemetry exporter.
export { CredentialHolder } from "./credential.ts";
export { enroll } from "./enroll.ts";
export { ControllerError, parseRetryAfter } from "./errors.ts";
export { HttpExporter, makeBatch, type TExportResult, type THttpExporterOptions } from "./exporter.ts";
export { loadOrEnroll, readLinkState, saveLinkState, type TLinkState } from "./link-state.ts";
export { DiskSpool, SpoolingSender } from "./spool.ts";
export { sync, type TSyncInput } from "./sync.ts";
export { SyncLoop, type TSyncLoopOptions } from "./sync-loop.ts";
