/** Native blocks as the agents' ingest wire format: a prototype, not wired in (docs/agent-protocol.md). */
export { encodeNativeBlock, NativeEncodeError, type TEncodeOptions, writeIp } from "./encode.ts";
export { type TTagColumn, type TValidated, type TValidateOptions, validateNativeBlock } from "./validate.ts";
