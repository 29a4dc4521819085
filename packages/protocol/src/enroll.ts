import { z } from "zod";
import { PROTOCOL_VERSION } from "./version.ts";

const ip = z.union([z.ipv4(), z.ipv6()]);

/** POST /v1/agents/enroll: the only agent call without a credential. */
export const ZEnrollRequest = z.object({
  protocolVersion: z.number().int().min(0).default(PROTOCOL_VERSION),
  /** An org's enrolment token (fpe_...), from the console. */
  enrollmentToken: z.string().min(1).max(256),
  hostname: z.string().min(1).max(255),
  ips: z.array(ip).max(256).default([]),
  agentVersion: z.string().min(1).max(64),
  /** e.g. "linux 6.1.0 x64". */
  os: z.string().min(1).max(128),
});
export type TEnrollRequest = z.input<typeof ZEnrollRequest>;

export const ZEnrollResponse = z.object({
  protocolVersion: z.number().int(),
  agentId: z.uuid(),
  orgId: z.uuid(),
  groupId: z.uuid(),
  /** The agent credential (fpa_...): shown this once, only its hash is stored. */
  credential: z.string().min(1),
  syncIntervalS: z.number().int().min(1),
});
export type TEnrollResponse = z.infer<typeof ZEnrollResponse>;
