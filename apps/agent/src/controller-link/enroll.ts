import {
  PROTOCOL_VERSION,
  type TEnrollRequest,
  type TEnrollResponse,
  ZEnrollResponse,
} from "@flowplane/protocol";
import { joinUrl, postJson, type TPostOptions } from "./http.ts";

/**
 * Enrols this agent with an enrolment token. The returned credential is shown once: the caller
 * stores it (with agentId) before doing anything else.
 */
export function enroll(
  controllerUrl: string,
  req: Omit<TEnrollRequest, "protocolVersion">,
  opts: TPostOptions = {},
): Promise<TEnrollResponse> {
  return postJson(
    joinUrl(controllerUrl, "/v1/agents/enroll"),
    { protocolVersion: PROTOCOL_VERSION, ...req },
    ZEnrollResponse,
    opts,
  );
}
