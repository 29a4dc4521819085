/** Native blocks as an agents' ingest wire format (docs/agent-protocol.md, "Native blocks"). */
export { decodeNativeBlock, ipText, NativeDecodeError } from "./decode.ts";
export { encodeNativeBlock, NativeEncodeError, type TEncodeOptions, writeIp } from "./encode.ts";
export { insertNative } from "./insert.ts";
export { type TTagColumn, type TValidated, type TValidateOptions, validateNativeBlock } from "./validate.ts";
