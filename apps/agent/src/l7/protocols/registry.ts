/**
 * Every protocol the processor knows, in detection order: the strict signatures first
 * (prefaces, magics, handshakes), the looser shapes (length-prefixed binary, text lines) last.
 */
import type { ProtocolSpec } from "../types.ts";
import { amqp } from "./amqp.ts";
import { dns } from "./dns.ts";
import { dubbo } from "./dubbo.ts";
import { http1 } from "./http1.ts";
import { http2 } from "./http2.ts";
import { kafka } from "./kafka.ts";
import { mqtt } from "./mqtt.ts";
import { mysql } from "./mysql.ts";
import { nats } from "./nats.ts";
import { postgresql } from "./postgres.ts";
import { redis } from "./redis.ts";
import { tls } from "./tls.ts";

export const PROTOCOLS: readonly ProtocolSpec[] = [
  http1,
  tls,
  dubbo,
  amqp,
  mqtt,
  nats,
  redis,
  mysql,
  postgresql,
  dns,
  kafka,
  http2,
];

export const PROTOCOL_NAMES = [
  "http",
  "http2",
  "grpc",
  ...PROTOCOLS.map((p) => p.name).filter((n) => n !== "http" && n !== "http2"),
];
