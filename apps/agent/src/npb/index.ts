/**
 * Packet broker (issue 8): forward selected raw packets to tenants' tools.
 *
 * Wiring into a capture loop (~10 lines; the decoder must have filled `meta` for this frame):
 *
 *   import { createPacketBroker, createSender } from "./npb/index.ts";
 *   const sender = createSender();   // as root: complete frames through an AF_PACKET TX ring to remote tools
 *                                    // (packet-ring.ts); else sendmmsg batches or dgram, GRE raw as root, else GRE-in-UDP
 *   const broker = createPacketBroker({
 *     policies, designatedMap, agentId,                   // as synced from the controller (validated here)
 *     agentGroups, interfaces: ["eth0", "eth1"],          // ifIndex passed below indexes this list
 *     linkType,                                           // the capture's LINKTYPE_*
 *     sourceAddress: "10.0.0.5",                          // outer IPv4 source (delivery uses the route's)
 *     send: sender.send,
 *   });
 *   // per packet, right after decodeFrame(meta, linkType, buf, off, capLen):
 *   broker.onPacket(meta, buf, off, capLen, tsMicros, ifIndex, broker.l7Id(l7NameIfKnown));
 *   // periodically: broker.stats() → per-policy matched/sent/bytes/truncated/deduplicated/
 *   //   notDesignated/droppedByCap, for the controller; on shutdown: await sender.close().
 *
 * `onPacket` reuses one layout record and one output buffer (copies over 128 bytes cost one
 * short-lived view in Node 20's Buffer.copy); the sender copies each datagram into a ring.
 * Cache `l7Id` results per flow rather than per packet. Policies or the designated map change
 * by creating a new broker (counters restart; report the old broker's stats first).
 */

export type { BrokerOptions, BrokerStats, Destination, PolicyCounters, SendFn } from "./broker.ts";
export { COUNTERS, createPacketBroker, PacketBroker } from "./broker.ts";
export type { DesignatedMap } from "./dedup.ts";
export { DedupWindow, DesignatedMapSchema, DesignatedPoints, invariantHash } from "./dedup.ts";
export { EncapKind, Encapsulator } from "./encap.ts";
export { loadSendmmsg } from "./fast-send.ts";
export { symmetricFlowHash } from "./flow-hash.ts";
export { loadPacketRing, PacketRing, resolveRoute } from "./packet-ring.ts";
export type { Policy, PolicyInput } from "./policy.ts";
export { compilePolicies, formatIssues, PolicyListSchema, PolicySchema, parsePolicies } from "./policy.ts";
export type { SenderOptions, SenderStats } from "./sender.ts";
export { createSender, PacketSender } from "./sender.ts";
export { TokenBucket } from "./token-bucket.ts";
