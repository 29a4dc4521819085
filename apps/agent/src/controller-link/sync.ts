import {
  PROTOCOL_VERSION,
  type TAgentRunState,
  type TAgentStats,
  type TApplyResult,
  type TNpbPolicyCounters,
  type TSyncResponse,
  ZSyncResponse,
} from "@flowplane/protocol";
import type { CredentialHolder } from "./credential.ts";
import { joinUrl, postJson, type TPostOptions } from "./http.ts";

export type TSyncInput = {
  agentId: string;
  state: TAgentRunState;
  appliedRevision: number;
  applyResult?: TApplyResult;
  stats: TAgentStats;
  hostIps?: string[];
  npbRevision?: string;
  npbCounters?: TNpbPolicyCounters[];
};

/**
 * One check-in. A credential rotation in the answer is stored in `credential` before this returns,
 * so every later request (sync or export) uses the new one.
 */
export async function sync(
  controllerUrl: string,
  credential: CredentialHolder,
  input: TSyncInput,
  opts: TPostOptions = {},
): Promise<TSyncResponse> {
  const res = await postJson(
    joinUrl(controllerUrl, "/v1/agents/sync"),
    { protocolVersion: PROTOCOL_VERSION, ...input },
    ZSyncResponse,
    { ...opts, headers: { ...opts.headers, ...credential.authorization() } },
  );
  if (res.rotateCredential) await credential.set(res.rotateCredential);
  return res;
}
