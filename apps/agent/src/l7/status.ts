import type { ResponseStatus } from "./types.ts";

/** HTTP-style code → response_status (2xx/3xx ok, 4xx client, 5xx server). */
export function statusOfCode(code: number): ResponseStatus {
  if (code >= 500) return "server_error";
  if (code >= 400) return "client_error";
  return "ok";
}
