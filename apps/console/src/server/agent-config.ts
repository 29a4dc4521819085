import { ZAgentConfig } from "@flowplane/protocol";
import type { z } from "zod";

/** The agent configuration schema (owned by @flowplane/protocol, shared with agent and controller). */
export const agentConfigSchema = ZAgentConfig;

/**
 * Validates an edited configuration: the normalised config (defaults filled in), or the issues
 * as "path: message" lines for the editor.
 */
export function validateAgentConfig(
  value: unknown,
): { ok: true; config: z.infer<typeof ZAgentConfig> } | { ok: false; issues: string[] } {
  const parsed = ZAgentConfig.strict().safeParse(value);
  if (parsed.success) return { ok: true, config: parsed.data };
  return {
    ok: false,
    issues: parsed.error.issues.map((i) => `${i.path.length ? i.path.join(".") : "(root)"}: ${i.message}`),
  };
}

/** Per-field help shown beside the editor: top-level sections and what they do. */
export const AGENT_CONFIG_HELP: Record<string, string> = {
  capture: 'interfaces (names or globs, "*" = all but loopback), bpf filter, snaplen (64-65535 bytes)',
  flowTimeouts:
    "seconds after which idle flows are closed: tcpEstablishedS, tcpClosingS, tcpOpeningS, udpS, otherS",
  l7: "protocols to parse (http, dns, mysql, redis, …) and portHints per protocol",
  tracing: "headerNames kept as trace / span ids",
  limits:
    "what the agent allows itself on the host. Over a limit it first sheds (samples packets, holds rows: degraded), " +
    "then turns L7 parsing off (protective), then stops capture; it steps back by itself once every measure " +
    "stays below 80 % of its limit (docs/overload-limits.md)",
  "limits.maxPps": "packets per second it processes (default 200000); more are sampled away at once",
  "limits.maxBps": "wire bytes per second it processes (default 1000000000); more are sampled away at once",
  "limits.maxCpuPct":
    "process CPU as a % of the whole host, all cores (default 50); over it for 3 s: one step up",
  "limits.maxMemBytes":
    "resident memory in bytes (default 536870912 = 512 MiB, at least 32 MiB); over it for 3 s: one step up",
  "limits.maxSendRowsPerS":
    "telemetry rows sent per second (default 50000); rows above it wait in the disk spool, none sampled",
  npb: "packet broker: dedup (default true) switches both deduplication rules for the group (docs/packet-broker.md)",
  syncIntervalS: "optional: how often agents poll the controller, overriding the group's interval",
};

/** Stable text of a config for display and diffing (keys sorted at every level). */
export function configText(value: unknown): string {
  return JSON.stringify(sortKeys(value), null, 2);
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value as object)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}
