import { isFlowplaneError, type TErrorCode } from "@flowplane/core/errors";
import { TRPCError } from "@trpc/server";

type TrpcCode = ConstructorParameters<typeof TRPCError>[0]["code"];

/** The one table from FlowplaneError codes to tRPC codes (HTTP statuses follow from both). */
export const FLOWPLANE_TO_TRPC = {
  BAD_REQUEST: "BAD_REQUEST",
  UNAUTHORIZED: "UNAUTHORIZED",
  FORBIDDEN: "FORBIDDEN",
  NOT_FOUND: "NOT_FOUND",
  CONFLICT: "CONFLICT",
  PAYLOAD_TOO_LARGE: "PAYLOAD_TOO_LARGE",
  TOO_MANY_REQUESTS: "TOO_MANY_REQUESTS",
  INTERNAL: "INTERNAL_SERVER_ERROR",
  UNAVAILABLE: "SERVICE_UNAVAILABLE",
} as const satisfies Record<TErrorCode, TrpcCode>;

/** A FlowplaneError as the matching TRPCError; anything else is returned untouched. */
export function toTrpcError(err: unknown): unknown {
  if (!isFlowplaneError(err)) return err;
  return new TRPCError({ code: FLOWPLANE_TO_TRPC[err.code], message: err.message, cause: err });
}
