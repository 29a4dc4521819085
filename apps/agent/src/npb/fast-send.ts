/**
 * The optional sendmmsg addon (native/sendmmsg.c): compiled on first use with the system C
 * compiler against the Node headers into the temp dir (named by a hash of source and Node
 * version, so it is built once per machine and never stale), then loaded. Anything missing
 * (no compiler, no headers, not Linux) yields a one-line reason and the sender keeps using
 * dgram. N-API is ABI-stable, so headers of another Node 20 build are fine.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, renameSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

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

function headerDir(): string | undefined {
  const candidates = [
    join(dirname(process.execPath), "..", "include", "node"),
    "/usr/include/node",
    "/usr/local/include/node",
  ];
  return candidates.find((d) => existsSync(join(d, "node_api.h")));
}

/** The addon, or why it is unavailable. */
export function loadSendmmsg(): SendmmsgAddon | string {
  if (cached !== undefined) return cached;
  cached = build();
  return cached;
}

function build(): SendmmsgAddon | string {
  if (process.platform !== "linux") return "sendmmsg addon: Linux only";
  const srcPath = new URL("./native/sendmmsg.c", import.meta.url);
  const src = readFileSync(srcPath);
  const hash = createHash("sha256").update(src).update(process.version).digest("hex").slice(0, 16);
  const out = join(tmpdir(), `flowplane-npb-sendmmsg-${hash}.node`);
  try {
    if (!existsSync(out)) {
      const inc = headerDir();
      if (!inc) return "sendmmsg addon: Node headers (node_api.h) not found";
      const tmp = `${out}.${process.pid}.tmp`;
      execFileSync("cc", ["-O2", "-shared", "-fPIC", "-I", inc, "-o", tmp, srcPath.pathname], {
        stdio: "pipe",
      });
      renameSync(tmp, out); // atomic: concurrent builders race harmlessly
      rmSync(tmp, { force: true });
    }
    return createRequire(import.meta.url)(out) as SendmmsgAddon;
  } catch (e) {
    return `sendmmsg addon unavailable (${(e as Error).message.split("\n")[0]})`;
  }
}
