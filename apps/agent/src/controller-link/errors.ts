import { ZErrorResponse } from "@flowplane/protocol";

/** A refusal or failure from the controller, with what the agent needs to decide what to do. */
export class ControllerError extends Error {
  override name = "ControllerError";
  constructor(
    /** HTTP status; 0 when no answer came (network, timeout). */
    readonly status: number,
    /** The protocol error code ("UNAUTHORIZED", "UNSUPPORTED_PROTOCOL", ...) or NETWORK / BAD_RESPONSE. */
    readonly code: string,
    message: string,
    readonly details: { issues?: { path: string; message: string }[]; retryAfterS?: number } = {},
  ) {
    super(message);
  }

  /** Worth sending again later, unchanged. */
  get retryable(): boolean {
    return this.status === 0 || this.status === 429 || this.status === 408 || this.status >= 500;
  }
}

/** Retry-After in seconds (delta form or HTTP date), or undefined. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, (at - now) / 1000);
}

export async function errorFromResponse(res: Response): Promise<ControllerError> {
  const retryAfterS = parseRetryAfter(res.headers.get("retry-after"));
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  }
  const parsed = ZErrorResponse.safeParse(body);
  if (parsed.success) {
    const e = parsed.data.error;
    return new ControllerError(res.status, e.code, e.message, {
      ...(e.issues ? { issues: e.issues } : {}),
      ...(retryAfterS !== undefined ? { retryAfterS } : {}),
    });
  }
  return new ControllerError(
    res.status,
    `HTTP_${res.status}`,
    `controller answered ${res.status} ${res.statusText}`,
    {
      ...(retryAfterS !== undefined ? { retryAfterS } : {}),
    },
  );
}
