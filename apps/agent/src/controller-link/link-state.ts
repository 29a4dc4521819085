import { open, readFile, rename } from "node:fs/promises";
import { z } from "zod";
import { enroll } from "./enroll.ts";

/** What an enrolled agent keeps on disk: who it is and the credential it uses now. */
export const ZLinkState = z.object({
  agentId: z.uuid(),
  orgId: z.uuid(),
  groupId: z.uuid(),
  credential: z.string().min(1),
  controllerUrl: z.url(),
});
export type TLinkState = z.infer<typeof ZLinkState>;

/** Written to a temporary file, fsynced, renamed, mode 0600: a crash never leaves half a credential. */
export async function saveLinkState(file: string, state: TLinkState): Promise<void> {
  const tmp = `${file}.tmp`;
  const fh = await open(tmp, "w", 0o600);
  try {
    await fh.writeFile(`${JSON.stringify(state, null, 2)}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
}

export async function readLinkState(file: string): Promise<TLinkState | null> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
  const parsed = ZLinkState.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`agent state file ${file} is not valid: delete it and enrol again`);
  return parsed.data;
}

/**
 * The agent's identity: read from `stateFile`, or enrolled once with `enrollmentToken` and saved
 * there before anything else (the credential is shown only once).
 */
export async function loadOrEnroll(opts: {
  stateFile: string;
  controllerUrl: string;
  enrollmentToken?: string;
  hostname: string;
  ips: string[];
  agentVersion: string;
  os: string;
}): Promise<TLinkState> {
  const existing = await readLinkState(opts.stateFile);
  if (existing) return existing;
  if (!opts.enrollmentToken) {
    throw new Error(
      `not enrolled (no ${opts.stateFile}): pass an enrolment token from the console to enrol this agent`,
    );
  }
  const res = await enroll(opts.controllerUrl, {
    enrollmentToken: opts.enrollmentToken,
    hostname: opts.hostname,
    ips: opts.ips,
    agentVersion: opts.agentVersion,
    os: opts.os,
  });
  const state: TLinkState = {
    agentId: res.agentId,
    orgId: res.orgId,
    groupId: res.groupId,
    credential: res.credential,
    controllerUrl: opts.controllerUrl,
  };
  await saveLinkState(opts.stateFile, state);
  return state;
}
