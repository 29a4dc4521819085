import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CONSOLE_DIR } from "./server.ts";

export const API_DOC = join(CONSOLE_DIR, "../../docs/api.md");

/** The ```sh blocks of docs/api.md that call curl, exactly as written. */
export function curlBlocks(markdown = readFileSync(API_DOC, "utf8")): string[] {
  return [...markdown.matchAll(/```sh\n([\s\S]*?)```/g)]
    .map((m) => (m[1] ?? "").trim())
    .filter((block) => block.startsWith("curl "));
}

/** Runs one block in bash with the doc's variables set; resolves with curl's output. */
export function runBlock(
  block: string,
  vars: { FLOWPLANE_URL: string; FLOWPLANE_ORG: string; FLOWPLANE_API_KEY: string },
): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      "bash",
      ["-c", `set -euo pipefail\n${block}`],
      { env: { ...process.env, ...vars }, timeout: 20_000, encoding: "utf8" },
      (err, stdout, stderr) => resolve({ ok: !err, stdout, stderr }),
    );
  });
}
