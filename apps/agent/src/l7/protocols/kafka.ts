/**
 * Kafka: request header (api key, version, correlation id, client id) on every request,
 * correlation id on every response; pairing by correlation id. The topic is read for Produce
 * (v0-8), Fetch (v0-11) and Metadata (v0-8) when it is in the first segment; bodies are skipped
 * by length. Error codes sit deep per partition and are not read (status ok when answered).
 */
import { i32, latin1, u16 } from "../bytes.ts";
import type { L7Parser, ParseContext, ProtocolSpec } from "../types.ts";

export const KAFKA_APIS = [
  "Produce",
  "Fetch",
  "ListOffsets",
  "Metadata",
  "LeaderAndIsr",
  "StopReplica",
  "UpdateMetadata",
  "ControlledShutdown",
  "OffsetCommit",
  "OffsetFetch",
  "FindCoordinator",
  "JoinGroup",
  "Heartbeat",
  "LeaveGroup",
  "SyncGroup",
  "DescribeGroups",
  "ListGroups",
  "SaslHandshake",
  "ApiVersions",
  "CreateTopics",
  "DeleteTopics",
  "DeleteRecords",
  "InitProducerId",
  "OffsetForLeaderEpoch",
  "AddPartitionsToTxn",
  "AddOffsetsToTxn",
  "EndTxn",
  "WriteTxnMarkers",
  "TxnOffsetCommit",
  "DescribeAcls",
  "CreateAcls",
  "DeleteAcls",
  "DescribeConfigs",
  "AlterConfigs",
  "AlterReplicaLogDirs",
  "DescribeLogDirs",
  "SaslAuthenticate",
  "CreatePartitions",
  "CreateDelegationToken",
  "RenewDelegationToken",
  "ExpireDelegationToken",
  "DescribeDelegationToken",
  "DeleteGroups",
  "ElectLeaders",
  "IncrementalAlterConfigs",
  "AlterPartitionReassignments",
  "ListPartitionReassignments",
  "OffsetDelete",
  "DescribeClientQuotas",
  "AlterClientQuotas",
  "DescribeUserScramCredentials",
  "AlterUserScramCredentials",
];
/** Highest api version per key we accept at detection (generous). */
const MAX_VERSION = 20;
const MAX_SIZE = 100 * 1024 * 1024;

function str(b: Uint8Array, o: number, end: number): [string, number] | null {
  if (o + 2 > end) return null;
  const l = u16(b, o);
  if (l === 0xffff) return ["", o + 2];
  if (o + 2 + l > end) return null;
  return [latin1(b, o + 2, o + 2 + l, 249), o + 2 + l];
}

function topicOf(api: number, ver: number, b: Uint8Array, o: number, end: number): string {
  let p = o;
  if (api === 0 && ver <= 8) {
    if (ver >= 3) {
      const t = str(b, p, end);
      if (!t) return "";
      p = t[1];
    }
    p += 6; // acks, timeout
  } else if (api === 1 && ver <= 11) {
    p += 12;
    if (ver >= 3) p += 4;
    if (ver >= 4) p += 1;
    if (ver >= 7) p += 8;
  } else if (api === 3 && ver <= 8) {
    // topics array directly
  } else return "";
  if (p + 4 > end) return "";
  const n = i32(b, p);
  if (n <= 0) return "";
  const t = str(b, p + 4, end);
  return t ? t[0] : "";
}

class KafkaParser implements L7Parser {
  /** Api key per correlation id, to know a response's header version (not needed) and name. */
  parse(ctx: ParseContext, dir: 0 | 1, b: Uint8Array, off: number, end: number): number {
    if (end - off < 8) return 0;
    const size = i32(b, off);
    if (size < 4 || size > MAX_SIZE) return -1;
    if (dir === 1) {
      const corr = i32(b, off + 4);
      ctx.response({ key: corr, status: "ok", length: size });
      return 4 + size;
    }
    // Too short for a request header (api key, version, correlation id): skipped whole, without
    // reading the next message's bytes as its own.
    if (size < 8) return end - off < 4 + size ? 0 : 4 + size;
    if (end - off < 12) return 0;
    const api = u16(b, off + 4);
    const ver = u16(b, off + 6);
    const corr = i32(b, off + 8);
    if (api > 100 || ver > MAX_VERSION) return -1;
    // Wait for small requests in full (topic), pass large ones with what is here.
    if (end - off < 4 + size && size <= 4096) return 0;
    const e = Math.min(end, off + 4 + size);
    const cid = str(b, off + 12, e);
    const name = KAFKA_APIS[api] ?? `api_${api}`;
    const flexible =
      (api === 0 && ver >= 9) ||
      (api === 1 && ver >= 12) ||
      (api === 3 && ver >= 9) ||
      (api === 18 && ver >= 3);
    const topic = cid && !flexible ? topicOf(api, ver, b, cid[1], e) : "";
    // Produce with acks=0 gets no response.
    let oneWay = false;
    if (api === 0 && cid && !flexible) {
      let p = cid[1];
      if (ver >= 3) {
        const t = str(b, p, e);
        p = t ? t[1] : e;
      }
      if (p + 2 <= e && u16(b, p) === 0) oneWay = true;
    }
    ctx.request({
      key: corr,
      oneWay,
      version: String(ver),
      type: name,
      domain: topic,
      resource: topic,
      endpoint: topic ? `${name} ${topic}` : name,
      length: size,
    });
    return 4 + size;
  }
}

export const kafka: ProtocolSpec = {
  name: "kafka",
  ports: [9092, 9093, 9094, 29092],
  transport: "tcp",
  detect(b, off, end) {
    if (end - off < 14) return 0;
    const size = i32(b, off);
    if (size < 10 || size > MAX_SIZE) return 0;
    const api = u16(b, off + 4);
    const ver = u16(b, off + 6);
    if (api >= KAFKA_APIS.length || ver > MAX_VERSION) return 0;
    // client id: nullable string of printable characters
    const l = u16(b, off + 12);
    if (l === 0xffff) return 1;
    if (l > 256 || off + 14 + l > end) return 0;
    for (let i = off + 14; i < off + 14 + l; i++) if (b[i]! < 32 || b[i]! > 126) return 0;
    return 1;
  },
  create: () => new KafkaParser(),
};
