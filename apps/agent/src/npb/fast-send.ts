/**
 * The optional sendmmsg addon (native/sendmmsg.c), compiled on first use and loaded by
 * @flowplane/core/native-addon (per-user private build directory, one-line reason when unavailable,
 * in which case the sender keeps using dgram).
 */
import { buildAddon } from "@flowplane/core/native-addon";

export interface SendmmsgAddon {
  open(kind: 0 | 1): number;
  send(
    fd: number,
    buf: Uint8Array,
    offs: Int32Array,
    lens: Int32Array,
    addrs: Int32Array,
    ports: Int32Array,
    first: number,
    count: number,
  ): number;
  close(fd: number): number;
}

let cached: SendmmsgAddon | string | undefined;

/** The addon, or why it is unavailable. */
export function loadSendmmsg(): SendmmsgAddon | string {
  cached ??= buildAddon<SendmmsgAddon>({
    name: "sendmmsg",
    source: new URL("./native/sendmmsg.c", import.meta.url),
  });
  return cached;
}
