import { z } from "zod";
import { ZNpbAgentConfig } from "./npb.ts";

/** L7 protocols the agent can parse; port hints tell it where to look first. */
export const L7_PROTOCOLS = [
  "http",
  "http2",
  "grpc",
  "dns",
  "mysql",
  "postgres",
  "redis",
  "amqp",
  "mqtt",
  "nats",
  "kafka",
  "tls",
] as const;
export const ZL7Protocol = z.enum(L7_PROTOCOLS);
export type TL7Protocol = z.infer<typeof ZL7Protocol>;

const port = z.number().int().min(1).max(65535);

export const ZCaptureConfig = z.object({
  /** Interface names or globs; "*" is every interface but loopback. */
  interfaces: z.array(z.string().min(1)).min(1).default(["*"]),
  /** A libpcap filter expression; empty captures everything. */
  bpf: z.string().max(4096).default(""),
  snaplen: z.number().int().min(64).max(65535).default(256),
});

/** Idle/close timeouts after which a flow is closed and reported, in seconds. */
export const ZFlowTimeouts = z.object({
  tcpEstablishedS: z.number().int().min(1).max(86_400).default(300),
  tcpClosingS: z.number().int().min(1).max(3600).default(35),
  tcpOpeningS: z.number().int().min(1).max(3600).default(5),
  udpS: z.number().int().min(1).max(3600).default(30),
  otherS: z.number().int().min(1).max(3600).default(30),
});

export const ZL7Config = z.object({
  /** Protocols switched on; any protocol not listed is off. */
  protocols: z.array(ZL7Protocol).default(["http", "dns", "mysql", "redis", "amqp", "mqtt", "nats"]),
  /** Extra ports on which to try a protocol before guessing from payload. */
  portHints: z.partialRecord(ZL7Protocol, z.array(port).max(64)).default({}),
});

export const ZTracingConfig = z.object({
  /** Request headers whose value is kept as the trace id / span id of an L7 record. */
  headerNames: z
    .array(z.string().min(1).max(128))
    .max(32)
    .default(["traceparent", "x-request-id", "x-b3-traceid", "uber-trace-id"]),
});

/** Overload limits the agent enforces on itself (issue 5, "Overload limits"). */
export const ZLimitsConfig = z.object({
  maxCpuPct: z.number().min(1).max(100).default(50),
  maxMemBytes: z
    .number()
    .int()
    .min(32 * 1024 * 1024)
    .default(512 * 1024 * 1024),
  maxPps: z.number().int().min(1).default(200_000),
  maxBps: z.number().int().min(1).default(1_000_000_000),
  maxSendRowsPerS: z.number().int().min(1).default(50_000),
});

/**
 * An agent group's configuration, as stored per revision in agent_group_configs.config and sent to
 * agents. Every field has a default, so `ZAgentConfig.parse({})` is a working configuration and an
 * older stored config gains new fields' defaults when parsed.
 */
export const ZAgentConfig = z.object({
  capture: ZCaptureConfig.default(ZCaptureConfig.parse({})),
  flowTimeouts: ZFlowTimeouts.default(ZFlowTimeouts.parse({})),
  l7: ZL7Config.default(ZL7Config.parse({})),
  tracing: ZTracingConfig.default(ZTracingConfig.parse({})),
  limits: ZLimitsConfig.default(ZLimitsConfig.parse({})),
  /** Packet broker switches (policies themselves are distributed separately, see npb.ts). */
  npb: ZNpbAgentConfig.default(ZNpbAgentConfig.parse({})),
  /** Overrides the group's sync interval when set. */
  syncIntervalS: z.number().int().min(1).max(3600).optional(),
});
export type TAgentConfig = z.infer<typeof ZAgentConfig>;
/** What a caller may write (defaults filled in by parsing). */
export type TAgentConfigInput = z.input<typeof ZAgentConfig>;

export const DEFAULT_SYNC_INTERVAL_S = 10;
