import { checkProtocolVersion } from "@flowplane/protocol";
import { z } from "zod";
import { AgentApiError } from "./api-error.ts";

const ZVersionOnly = z.object({ protocolVersion: z.number().int().optional() }).loose();

/**
 * Checked before the full schema, so an agent of another protocol version hears "upgrade" rather
 * than a list of fields it cannot know about. A body without a version counts as version 0 when
 * `required` (sync), as the current version otherwise (enrol, whose first version had none).
 */
export function assertProtocolVersion(body: unknown, required: boolean): void {
  const parsed = ZVersionOnly.safeParse(body);
  if (!parsed.success) return; // not an object: the full schema reports it
  const version = parsed.data.protocolVersion;
  if (version === undefined && !required) return;
  const check = checkProtocolVersion(version ?? 0);
  if (!check.ok) {
    throw new AgentApiError("UNSUPPORTED_PROTOCOL", check.message, { supportedProtocol: check.supported });
  }
}
