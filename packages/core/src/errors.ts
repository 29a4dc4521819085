/**
 * The one error type of the product. Codes are strings; `httpStatus` maps each to HTTP (tRPC maps
 * from the same table in the console). Messages say what to do next.
 */
export const ERROR_STATUS = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  TOO_MANY_REQUESTS: 429,
  INTERNAL: 500,
  UNAVAILABLE: 503,
} as const;

export type TErrorCode = keyof typeof ERROR_STATUS;

export class FlowplaneError extends Error {
  override name = "FlowplaneError";
  constructor(
    readonly code: TErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
  get httpStatus(): number {
    return ERROR_STATUS[this.code];
  }
}

export const isFlowplaneError = (e: unknown): e is FlowplaneError => e instanceof FlowplaneError;
