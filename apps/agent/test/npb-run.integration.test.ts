/**
 * Packet broker end to end (issue 8): a listening controller (real Postgres, Redis, ClickHouse),
 * policies written to Postgres, the real agent binary `run --pcap` as child processes, and UDP
 * receivers on loopback standing in for the tenants' tools. The inner frames of the VXLAN copies
 * must be the capture's packets byte for byte (cut after the L4 header plus N bytes when the
 * policy truncates), the designated map must split a capture seen by two agents so each packet
 * arrives once (twice with deduplication off), and another org's policies never reach an agent.
 */
import { spawn } from "node:child_process";
import { createSocket, type Socket } from "node:dgram";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { sharedPcapsDir } from "@flowplane/core/shared-dir";
import { seedAgentGroup, seedEnrollmentToken, seedOrg } from "@flowplane/db/seed";
import { npbCounters } from "@flowplane/query";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startListeningController, type TListeningController } from "../../controller/test/harness.ts";
import { readCaptureFile } from "../src/capture/capture-file.ts";
import { tsharkFields } from "./npb/pcap-out.ts";

const BIN = join(dirname(fileURLToPath(import.meta.url)), "../bin/flowplane-agent.js");
// 49 packets of one HTTP conversation between 192.168.1.104 (client) and 63.245.209.11 (server).
const PCAP = join(sharedPcapsDir(), "http1-pipelined.pcap");
const CLIENT = "192.168.1.104";
const SERVER = "63.245.209.11";

function runAgent(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, "run", ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("error", reject);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

type Receiver = { port: number; msgs: Buffer[]; sock: Socket };
const sockets: Socket[] = [];
async function receiver(): Promise<Receiver> {
  const sock = createSocket("udp4");
  const msgs: Buffer[] = [];
  sock.on("message", (m) => msgs.push(m));
  await new Promise<void>((r) => sock.bind(0, "127.0.0.1", r));
  sockets.push(sock);
  return { sock, port: sock.address().port, msgs };
}
/** Loopback delivers before the agent exits; a short wait covers the socket's queue. */
const settle = () => new Promise((r) => setTimeout(r, 300));

/** The capture's frames, and the same frames cut after their TCP header plus `n` payload bytes. */
function captureFrames(): Buffer[] {
  const out: Buffer[] = [];
  readCaptureFile(
    PCAP,
    (_lt, buf, off, capLen) => out.push(Buffer.from(buf.subarray(off, off + capLen))),
    () => {},
  );
  return out;
}
/** Parsed here rather than with the agent's decoder, so the test does not grade itself. */
function truncated(frame: Buffer, n: number): Buffer {
  expect(frame.readUInt16BE(12)).toBe(0x0800); // untagged Ethernet, IPv4
  const ihl = (frame[14]! & 0x0f) * 4;
  expect(frame[14 + 9]).toBe(6);
  const doff = (frame[14 + ihl + 12]! >> 4) * 4;
  return frame.subarray(0, Math.min(frame.length, 14 + ihl + doff + n));
}
/** VXLAN payload → inner Ethernet frame, checking the header. */
function inner(msg: Buffer, vni: number): Buffer {
  expect(msg[0]).toBe(0x08);
  expect(msg.readUIntBE(4, 3)).toBe(vni);
  return msg.subarray(8);
}
const hex = (b: Buffer[]) => b.map((x) => x.toString("hex")).sort();

describe("packet broker: agents forward per synced policies", () => {
  let controller: TListeningController;
  const dirs: string[] = [];
  const stateDir = () => {
    const d = mkdtempSync(join(tmpdir(), "fp-npb-agent-"));
    dirs.push(d);
    return d;
  };

  /** `run` on the capture at full speed, L4 only, enrolled with `token`. */
  const replay = (token: string, dir = stateDir(), extra: string[] = []) =>
    runAgent([
      "--pcap",
      PCAP,
      "--speed",
      "max",
      "--no-l7",
      "--controller",
      controller.url,
      "--token",
      token,
      "--state-dir",
      dir,
      ...extra,
    ]);

  beforeAll(async () => {
    controller = await startListeningController("npb_run");
  });
  afterAll(async () => {
    for (const s of sockets) s.close();
    await controller?.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("delivers VXLAN copies whose inner frames are the capture's packets, truncated, and counts them; org B's policy never reaches org A", {
    timeout: 120_000,
  }, async () => {
    const db = controller.tdb.db;
    const orgA = await seedOrg(db);
    const orgB = await seedOrg(db);
    const groupA = await seedAgentGroup(db, orgA.id);
    const tokenA = await seedEnrollmentToken(db, orgA.id, groupA.id);
    const toolA = await receiver();
    const toolB = await receiver();
    const policy = await db.forOrg(orgA.id).packetBrokerPolicy.create({
      data: {
        orgId: orgA.id,
        name: "all to the IDS",
        priority: 10,
        match: { protocols: ["tcp"] },
        action: {
          destinations: [{ address: "127.0.0.1", port: toolA.port }],
          encap: { type: "vxlan", vni: 4242 },
          truncatePayload: 64,
        },
      },
    });
    // Matches everything too, at a higher priority, but belongs to org B.
    await db.forOrg(orgB.id).packetBrokerPolicy.create({
      data: {
        orgId: orgB.id,
        name: "org b steals",
        priority: 1,
        match: {},
        action: {
          destinations: [{ address: "127.0.0.1", port: toolB.port }],
          encap: { type: "vxlan", vni: 1 },
        },
      },
    });

    const r = await replay(tokenA.token);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/packet broker: revision \w+, 1 policy/);
    await settle();

    const frames = captureFrames();
    expect(frames).toHaveLength(49);
    const got = toolA.msgs.map((m) => inner(m, 4242));
    expect(got).toHaveLength(frames.length);
    // In capture order, byte for byte: Ethernet, IPv4 and TCP headers plus 64 payload bytes.
    got.forEach((g, i) => {
      expect(g.equals(truncated(frames[i]!, 64)), `packet ${i + 1}`).toBe(true);
    });
    expect(toolB.msgs).toHaveLength(0);

    // The last check-in carried the counters; they are stored per policy in ClickHouse.
    const longer = frames.filter((f) => f.length > truncated(f, 64).length).length;
    const rows = await npbCounters(controller.ch.client, {
      orgId: orgA.id,
      from: (Date.now() - 3_600_000) * 1000,
      to: (Date.now() + 60_000) * 1000,
    });
    expect(rows).toEqual([
      expect.objectContaining({
        policy_id: policy.id,
        matched: 49,
        sent: 49,
        truncated: longer,
        deduplicated: 0,
        not_designated: 0,
      }),
    ]);
    expect(r.stdout).toMatch(/packet broker: matched 49, sent 49/);
  });

  it("two agents replaying one capture, its addresses split between their hosts: each packet once with dedup, twice without", {
    timeout: 180_000,
  }, async () => {
    const db = controller.tdb.db;
    const org = await seedOrg(db);
    const group = await seedAgentGroup(db, org.id);
    const token = await seedEnrollmentToken(db, org.id, group.id, { maxUses: null });
    const tool = await receiver();
    const hosts = [
      { hostIp: CLIENT, dir: stateDir() },
      { hostIp: SERVER, dir: stateDir() },
    ];
    const run = (h: (typeof hosts)[number], extra: string[] = []) =>
      replay(token.token, h.dir, ["--host-ip", h.hostIp, ...extra]);
    // First runs: both agents enrol and report their host address; no policy yet, nothing sent.
    for (const h of hosts) expect((await run(h)).code).toBe(0);
    expect(tool.msgs).toHaveLength(0);

    await db.forOrg(org.id).packetBrokerPolicy.create({
      data: {
        orgId: org.id,
        name: "everything",
        priority: 1,
        match: {},
        action: {
          destinations: [{ address: "127.0.0.1", port: tool.port }],
          encap: { type: "vxlan", vni: 7 },
        },
      },
    });
    const frames = captureFrames();

    // Dedup on: the client's agent forwards what the client sent, the server's what the server sent.
    const on = [];
    for (const h of hosts) on.push(await run(h));
    for (const r of on) expect(r.code, r.stderr).toBe(0);
    await settle();
    const fromClient = frames.filter((f) => f.subarray(26, 30).join(".") === CLIENT);
    expect(on[0]?.stdout).toMatch(
      new RegExp(`sent ${fromClient.length}, deduplicated 0, left to other agents ${49 - fromClient.length}`),
    );
    expect(hex(tool.msgs.map((m) => inner(m, 7)))).toEqual(hex(frames));

    // Dedup off: both forward everything they see.
    tool.msgs.length = 0;
    for (const h of hosts) expect((await run(h, ["--no-npb-dedup"])).code).toBe(0);
    await settle();
    expect(hex(tool.msgs.map((m) => inner(m, 7)))).toEqual(hex([...frames, ...frames]));
  });

  it("delivers ERSPAN III copies over IP protocol 47 that tshark decodes, inner frames identical, in order", {
    timeout: 120_000,
  }, async () => {
    // As root the agent sends GRE itself (a raw socket; a local tool keeps the sockets), and
    // tcpdump on lo stands in for the tool: a raw GRE listener would get every test's GRE.
    if (process.getuid?.() !== 0) throw new Error("the GRE case needs root (raw socket, tcpdump on lo)");
    const db = controller.tdb.db;
    const org = await seedOrg(db);
    const group = await seedAgentGroup(db, org.id);
    const token = await seedEnrollmentToken(db, org.id, group.id);
    const session = 100 + Math.floor(Math.random() * 900); // tells our copies from other tests' GRE
    await db.forOrg(org.id).packetBrokerPolicy.create({
      data: {
        orgId: org.id,
        name: "all to the capture appliance",
        priority: 10,
        match: { protocols: ["tcp"] },
        action: { destinations: [{ address: "127.0.0.1" }], encap: { type: "erspan3", sessionId: session } },
      },
    });
    const file = join(stateDir(), "erspan.pcap");
    const tap = spawn(
      "tcpdump",
      // -Q in: lo shows each frame leaving and arriving; -B: the 49 copies come in one burst.
      [
        "-n",
        "-i",
        "lo",
        "-Q",
        "in",
        "-B",
        "16384",
        "--immediate-mode",
        "-U",
        "-Z",
        "root",
        "-w",
        file,
        "ip proto 47",
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    await new Promise<void>((resolve, reject) => {
      let err = "";
      tap.stderr.on("data", (d: Buffer) => {
        err += d.toString();
        if (err.includes("listening on")) resolve();
      });
      tap.once("exit", (c) => reject(new Error(`tcpdump exited ${c}: ${err}`)));
    });
    const r = await replay(token.token);
    await settle();
    const stopped = new Promise((res) => tap.once("exit", res));
    tap.kill("SIGINT");
    await stopped;
    expect(r.code, r.stderr).toBe(0);

    // Ethernet (lo) + IPv4 (20, the kernel's) + GRE with sequence (8) + ERSPAN III (12) + frame.
    const ours: Buffer[] = [];
    readCaptureFile(
      file,
      (_lt, buf, off, capLen) => {
        const f = Buffer.from(buf.subarray(off, off + capLen));
        if (f.readUInt16BE(36) === 0x22eb && (f.readUInt16BE(44) & 0x3ff) === session) ours.push(f);
      },
      () => {},
    );
    const frames = captureFrames();
    expect(ours).toHaveLength(frames.length);
    ours.forEach((f, i) => {
      expect(f.readUInt32BE(38), `GRE sequence of copy ${i + 1}`).toBe(i);
      expect(f.subarray(54).equals(frames[i]!), `packet ${i + 1}`).toBe(true);
    });
    const rows = tsharkFields(
      file,
      ["frame.protocols", "erspan.spanid", "erspan.version"],
      ["-Y", `erspan.spanid == ${session}`],
    );
    expect(rows).toHaveLength(frames.length);
    for (const row of rows) {
      expect(row[0]).toMatch(/^eth:ethertype:ip:gre:erspan:eth:ethertype:ip:tcp/);
      expect(row.slice(1)).toEqual([String(session), "2"]);
    }
  });
});
