import pino, { type Logger } from "pino";

export type { Logger };

/**
 * The one logger. Structured JSON on stdout; `component` names the process part, and callers bind
 * `orgId` / `agentId` with `log.child({ orgId, agentId })` so every line can be traced to a tenant.
 * Secret-looking keys are redacted so a careless `log.info({ req })` cannot leak a token.
 */
export function createLogger(component: string, bindings: Record<string, unknown> = {}): Logger {
  return pino({
    name: "flowplane",
    level: process.env.FLOWPLANE_LOG_LEVEL ?? (process.env.NODE_ENV === "test" ? "warn" : "info"),
    base: { component, ...bindings },
    redact: {
      paths: [
        "password",
        "token",
        "secret",
        "authorization",
        "*.password",
        "*.token",
        "*.secret",
        "*.authorization",
        "headers.authorization",
        "headers.cookie",
      ],
      censor: "[redacted]",
    },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
