import { z } from "zod";

/**
 * Every non-2xx answer of the controller's agent API has this body. `code` is stable (agents branch
 * on it); `message` says what to do next.
 */
export const ZErrorCode = z.enum([
  "BAD_REQUEST",
  "UNAUTHORIZED",
  "FORBIDDEN",
  "NOT_FOUND",
  "CONFLICT",
  "PAYLOAD_TOO_LARGE",
  "TOO_MANY_REQUESTS",
  "UNSUPPORTED_PROTOCOL",
  "INTERNAL",
  "UNAVAILABLE",
]);
export type TErrorCode = z.infer<typeof ZErrorCode>;

export const ZErrorIssue = z.object({
  /** Where in the request body, e.g. "stats.cpuPct" or "rows.3.dst_port". */
  path: z.string(),
  message: z.string(),
});

export const ZErrorResponse = z.object({
  error: z.object({
    // A newer controller may add codes: an agent treats an unknown code by its HTTP status.
    code: z.union([ZErrorCode, z.string()]),
    message: z.string(),
    issues: z.array(ZErrorIssue).optional(),
    supportedProtocol: z.object({ min: z.number().int(), max: z.number().int() }).optional(),
  }),
});
export type TErrorResponse = z.infer<typeof ZErrorResponse>;

/** zod issues as `{path, message}` with dotted paths, the form every 400 carries. */
export function issuesOf(error: z.ZodError): z.infer<typeof ZErrorIssue>[] {
  return error.issues.map((i) => ({
    path: i.path.map(String).join(".") || "(body)",
    message: i.message,
  }));
}
