import { describe, expect, it } from "vitest";
import {
  checkProtocolVersion,
  issuesOf,
  PROTOCOL_VERSION,
  ZAgentConfig,
  ZEnrollRequest,
  ZIngestBatch,
  ZSyncRequest,
  ZSyncResponse,
} from "./index.ts";

const stats = {
  cpuPct: 3,
  memBytes: 1e8,
  packetsPerS: 10,
  bytesPerS: 1e4,
  drops: 0,
  flows: 5,
  spoolBytes: 0,
  version: "0.1.0",
};

describe("agent config", () => {
  it("an empty object is a complete working configuration", () => {
    const c = ZAgentConfig.parse({});
    expect(c.capture).toEqual({ interfaces: ["*"], bpf: "", snaplen: 256 });
    expect(c.limits.maxCpuPct).toBe(50);
    expect(c.l7.protocols).toContain("http");
    expect(c.tracing.headerNames).toContain("traceparent");
    expect(c.syncIntervalS).toBeUndefined();
  });

  it("keeps what is set and fills the rest; refuses nonsense with paths", () => {
    const c = ZAgentConfig.parse({
      capture: { snaplen: 1500 },
      l7: { protocols: ["dns"], portHints: { http: [8080] } },
    });
    expect(c.capture.snaplen).toBe(1500);
    expect(c.capture.interfaces).toEqual(["*"]);
    expect(c.l7.portHints.http).toEqual([8080]);
    const bad = ZAgentConfig.safeParse({ capture: { snaplen: 10 }, l7: { protocols: ["gopher"] } });
    expect(bad.success).toBe(false);
    if (!bad.success)
      expect(
        issuesOf(bad.error)
          .map((i) => i.path)
          .sort(),
      ).toEqual(["capture.snaplen", "l7.protocols.0"]);
  });
});

describe("messages", () => {
  it("enrol request defaults the protocol version", () => {
    const r = ZEnrollRequest.parse({
      enrollmentToken: "fpe_x",
      hostname: "h",
      agentVersion: "1",
      os: "linux",
    });
    expect(r.protocolVersion).toBe(PROTOCOL_VERSION);
    expect(r.ips).toEqual([]);
    expect(
      ZEnrollRequest.safeParse({
        enrollmentToken: "fpe_x",
        hostname: "h",
        agentVersion: "1",
        os: "linux",
        ips: ["nope"],
      }).success,
    ).toBe(false);
  });

  it("sync request validates stats and reports paths", () => {
    const ok = ZSyncRequest.safeParse({
      protocolVersion: 1,
      agentId: crypto.randomUUID(),
      state: "running",
      appliedRevision: 0,
      stats,
    });
    expect(ok.success).toBe(true);
    const bad = ZSyncRequest.safeParse({
      protocolVersion: 1,
      agentId: "x",
      state: "running",
      appliedRevision: 0,
      stats: { ...stats, cpuPct: -1 },
    });
    expect(bad.success).toBe(false);
    if (!bad.success)
      expect(
        issuesOf(bad.error)
          .map((i) => i.path)
          .sort(),
      ).toEqual(["agentId", "stats.cpuPct"]);
  });

  it("a newer controller's extra fields do not break an older agent", () => {
    const r = ZSyncResponse.parse({
      protocolVersion: 1,
      revision: 2,
      syncIntervalS: 10,
      somethingNew: { x: 1 },
    });
    expect(r).toEqual({ protocolVersion: 1, revision: 2, syncIntervalS: 10 });
  });

  it("ingest batches need a uuid batch id and a known table", () => {
    const base = {
      batchId: crypto.randomUUID(),
      agentId: crypto.randomUUID(),
      table: "l4_flow_log",
      rows: [{ a: 1 }],
    };
    expect(ZIngestBatch.safeParse(base).success).toBe(true);
    expect(ZIngestBatch.safeParse({ ...base, batchId: "1" }).success).toBe(false);
    expect(ZIngestBatch.safeParse({ ...base, table: "users" }).success).toBe(false);
  });
});

describe("protocol version", () => {
  it("answers older and newer agents with the supported range", () => {
    expect(checkProtocolVersion(PROTOCOL_VERSION)).toEqual({ ok: true });
    const old = checkProtocolVersion(0);
    expect(old.ok).toBe(false);
    if (!old.ok) {
      expect(old.reason).toBe("too_old");
      expect(old.message).toMatch(/upgrade the agent/);
    }
    const newer = checkProtocolVersion(PROTOCOL_VERSION + 1);
    expect(newer.ok).toBe(false);
    if (!newer.ok) expect(newer.reason).toBe("too_new");
  });
});
