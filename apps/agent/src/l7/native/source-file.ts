/**
 * A C source kept as text in a module (so that it travels with any bundle: worker threads run an
 * esbuild bundle, where a .c file next to the module would not be found), written into the
 * private build directory under a name from its hash, once, to a temporary name then renamed.
 * The directory must be ours and closed to others, as buildAddon checks it too, since what is
 * compiled there is loaded into a root process.
 */
import { createHash } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { threadId } from "node:worker_threads";
import { privateAddonDir } from "@flowplane/core/native-addon";

/** The file of `source` (named `<name>-<hash>.c`), or why it could not be written. */
export function privateSourceFile(name: string, source: string): string | { reason: string } {
  const dir = privateAddonDir();
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = lstatSync(dir);
    if (!st.isDirectory() || st.uid !== (process.getuid?.() ?? -1) || (st.mode & 0o077) !== 0)
      return { reason: `${dir} is not a private directory of this user` };
    const hash = createHash("sha256").update(source).digest("hex").slice(0, 16);
    const file = join(dir, `${name}-${hash}.c`);
    if (!existsSync(file)) {
      const tmp = `${file}.${process.pid}.${threadId}.tmp`;
      writeFileSync(tmp, source, { mode: 0o600 });
      renameSync(tmp, file);
    }
    return file;
  } catch (e) {
    return { reason: (e as Error).message.split("\n")[0] ?? "" };
  }
}
