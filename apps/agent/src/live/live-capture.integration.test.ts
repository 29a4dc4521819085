import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { BatchingExporter } from "../run/exporter.ts";
import { JsonlSink } from "../run/jsonl-sink.ts";
import { createPipeline } from "../run/pipeline.ts";
import { listInterfaces, startLiveCapture } from "./live-capture.ts";

const BIN = join(dirname(fileURLToPath(import.meta.url)), "../../bin/flowplane-agent.js");
const tmp = mkdtempSync(join(tmpdir(), "flowplane-live-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("live capture (libpcap)", () => {
  it("runs as root with libpcap loaded (fails, never skips, otherwise)", () => {
    // CI runs as root after scripts/install-system.sh installed libpcap-dev: anything else is a
    // broken environment this test must report.
    expect(process.getuid?.(), "live capture tests need root (CAP_NET_RAW)").toBe(0);
    expect(listInterfaces()).toContain("lo");
  });

  it("sees a local HTTP request on lo as a flow", async () => {
    const server = createServer((_req, res) => res.end("hello"));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    const out = join(tmp, "lo");
    const pipeline = createPipeline({ exporter: new BatchingExporter(new JsonlSink(out)) });
    const live = startLiveCapture("lo", `tcp port ${port}`, pipeline);
    try {
      await new Promise((r) => setTimeout(r, 200));
      const res = await fetch(`http://127.0.0.1:${port}/x`, { headers: { connection: "close" } });
      expect(await res.text()).toBe("hello");
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      live.stop();
      server.close();
    }
    const stats = await pipeline.stop();
    expect(stats.packets).toBeGreaterThanOrEqual(6);
    const rows = readFileSync(join(out, "l4_flow_log.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    // The server listens on an ephemeral port too: the handshake, not the port numbers, must
    // make it the server.
    const flow = rows.find((r) => r.server_port === port);
    if (!flow) throw new Error(`no flow with server_port ${port} in ${JSON.stringify(rows)}`);
    expect(flow.client_ip).toBe("127.0.0.1");
    expect(flow.client_port).not.toBe(port);
    expect(Number(flow.packets_c2s) + Number(flow.packets_s2c)).toBeGreaterThanOrEqual(6);
    expect(Number(flow.syn_count)).toBe(1);
    expect(Math.abs(Number(flow?.start_time) - Date.now() * 1000)).toBeLessThan(60e6);
  });

  it("an unknown interface is one clear line and a non-zero exit", () => {
    const r = spawnSync(process.execPath, [BIN, "run", "--interface", "nosuch0", "--out", join(tmp, "x")], {
      encoding: "utf8",
    });
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/unknown interface "nosuch0"/);
  });

  it("without permission (as nobody) is one clear line and a non-zero exit", () => {
    const r = spawnSync(
      "setpriv",
      [
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "env",
        "HOME=/tmp",
        process.execPath,
        BIN,
        "run",
        "--interface",
        "lo",
        "--out",
        join(tmp, "nobody"),
      ],
      { encoding: "utf8" },
    );
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/no permission to capture on "lo"/);
  });

  it("the CLI captures until SIGINT, then flushes and exits 0", async () => {
    const server = createServer((_req, res) => res.end("hi"));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    const out = join(tmp, "cli");
    const { spawn } = await import("node:child_process");
    const child = spawn(
      process.execPath,
      [BIN, "run", "--interface", "lo", "--bpf", `tcp port ${port}`, "--out", out],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let err = "";
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    for (let i = 0; i < 100 && !err.includes("capturing on"); i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(err).toMatch(/capturing on lo/);
    await (await fetch(`http://127.0.0.1:${port}/`, { headers: { connection: "close" } })).text();
    await new Promise((r) => setTimeout(r, 300));
    child.kill("SIGINT");
    const code = await new Promise<number | null>((r) => child.on("exit", r));
    server.close();
    expect(code).toBe(0);
    const l4 = readFileSync(join(out, "l4_flow_log.jsonl"), "utf8");
    expect(l4).toMatch(new RegExp(`"(server|client)_port":${port}\\b`));
  }, 30_000);
});
