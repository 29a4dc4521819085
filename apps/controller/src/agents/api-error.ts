import type { TErrorCode, TErrorResponse } from "@flowplane/protocol";
import { issuesOf } from "@flowplane/protocol";
import type { FastifyReply } from "fastify";
import type { z } from "zod";

const STATUS: Record<TErrorCode, number> = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_PROTOCOL: 426,
  TOO_MANY_REQUESTS: 429,
  INTERNAL: 500,
  UNAVAILABLE: 503,
};

/**
 * An error of the agent API: thrown anywhere below a route, turned into the protocol's error
 * envelope (`{ error: { code, message, ... } }`) by the API's error handler.
 */
export class AgentApiError extends Error {
  override name = "AgentApiError";
  constructor(
    readonly code: TErrorCode,
    message: string,
    readonly extra: Omit<TErrorResponse["error"], "code" | "message"> = {},
    /** Seconds, sent as Retry-After (429, 503). */
    readonly retryAfterS?: number,
  ) {
    super(message);
  }
  get status(): number {
    return STATUS[this.code];
  }
}

/** A 400 that lists every zod issue with its dotted path. */
export function invalidBody(what: string, error: z.ZodError): AgentApiError {
  const issues = issuesOf(error);
  const first = issues[0];
  return new AgentApiError(
    "BAD_REQUEST",
    `invalid ${what}: ${first ? `${first.path}: ${first.message}` : "malformed"}${issues.length > 1 ? ` (and ${issues.length - 1} more)` : ""}`,
    { issues },
  );
}

export function sendApiError(reply: FastifyReply, err: AgentApiError): FastifyReply {
  if (err.retryAfterS !== undefined)
    reply.header("retry-after", String(Math.max(1, Math.ceil(err.retryAfterS))));
  const body: TErrorResponse = { error: { code: err.code, message: err.message, ...err.extra } };
  return reply.code(err.status).send(body);
}
