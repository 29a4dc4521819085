/**
 * `run --pcap --controller`: the real agent binary as a child process against a listening
 * controller (real Postgres, Redis, ClickHouse). It enrols with a seeded token, applies the group's
 * configuration, and every flow `analyze` finds in the capture ends up in ClickHouse under the
 * agent's org and id, once.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { sharedPcapsDir } from "@flowplane/core/shared-dir";
import { seedAgentGroup, seedEnrollmentToken, seedOrg } from "@flowplane/db/seed";
import type { TestDatabase } from "@flowplane/db/testing";
import { ZAgentConfig } from "@flowplane/protocol";
import type { TestClickhouse } from "@flowplane/query/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startListeningController, type TListeningController } from "../../controller/test/harness.ts";
import { analyzeFile } from "../src/analyze.ts";
import { configTimeouts } from "../src/run/controller-session.ts";

const BIN = join(dirname(fileURLToPath(import.meta.url)), "../bin/flowplane-agent.js");
const PCAP = join(sharedPcapsDir(), "erspan-vlan-http-tls.pcap");

function runAgent(
  args: string[],
  interruptAfterMs?: number,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, "run", ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let armed = false;
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      // Counted from the moment the agent has joined (its signal handlers come right after).
      if (interruptAfterMs !== undefined && !armed && stderr.includes("state in")) {
        armed = true;
        setTimeout(() => child.kill("SIGINT"), interruptAfterMs);
      }
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 40_000);
    child.on("error", reject);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** One line per flow: its 5-tuple and totals over all its reports (flow ids differ between runs). */
function flowKeys(rows: Record<string, unknown>[]): string[] {
  const byId = new Map<string, { key: string; p: number; b: number }>();
  const v4 = (ip: unknown) => String(ip).replace(/^::ffff:/, "");
  for (const r of rows) {
    const id = String(r.flow_id);
    const cur = byId.get(id) ?? {
      key: `${v4(r.client_ip)}:${r.client_port}>${v4(r.server_ip)}:${r.server_port}/${r.ip_protocol}`,
      p: 0,
      b: 0,
    };
    cur.p += Number(r.packets_c2s) + Number(r.packets_s2c);
    cur.b += Number(r.bytes_c2s) + Number(r.bytes_s2c);
    byId.set(id, cur);
  }
  return [...byId.values()].map((f) => `${f.key} ${f.p} ${f.b}`).sort();
}

describe("run --pcap --controller", () => {
  let tdb: TestDatabase;
  let ch: TestClickhouse;
  let url: string;
  let controller: TListeningController;
  const stateDir = mkdtempSync(join(tmpdir(), "fp-agent-state-"));

  beforeAll(async () => {
    controller = await startListeningController("agent_run");
    ({ tdb, ch, url } = controller);
  });
  afterAll(async () => {
    await controller?.close();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it("enrols, applies its configuration and stores exactly the flows analyze finds", {
    timeout: 120_000,
  }, async () => {
    const org = await seedOrg(tdb.db);
    const group = await seedAgentGroup(tdb.db, org.id);
    const token = await seedEnrollmentToken(tdb.db, org.id, group.id);

    const r = await runAgent([
      "--pcap",
      PCAP,
      "--speed",
      "max",
      "--controller",
      url,
      "--token",
      token.token,
      "--state-dir",
      stateDir,
    ]);
    expect(r.stderr).toMatch(/applied configuration revision 1/);
    expect(r.code, r.stderr).toBe(0);
    const identity = JSON.parse(readFileSync(join(stateDir, "agent.json"), "utf8")) as {
      agentId: string;
      orgId: string;
    };
    expect(identity.orgId).toBe(org.id);

    // The same capture analysed with the timeouts the group's configuration sets.
    const expected: Record<string, unknown>[] = [];
    const expectedL7: Record<string, unknown>[] = [];
    let expectedRequests = 0;
    const analyzed = await analyzeFile(PCAP, {
      timeouts: configTimeouts(ZAgentConfig.parse({})),
      l7: {},
      onL4: (row) => expected.push(row as unknown as Record<string, unknown>),
      onL7: (row) => expectedL7.push(row as unknown as Record<string, unknown>),
      onAppMetrics: (row) => {
        expectedRequests += row.requests;
      },
    });
    expect(expectedL7.length).toBeGreaterThan(0);
    expect(analyzed.stats.flowsCreated).toBeGreaterThan(100);

    const q = async (sql: string) =>
      (await (
        await ch.client.query({
          query: sql,
          query_params: { org: org.id, agent: identity.agentId },
          format: "JSONEachRow",
        })
      ).json()) as Record<string, unknown>[];
    const stored = await q(
      "SELECT flow_id, toString(client_ip) AS client_ip, client_port, toString(server_ip) AS server_ip, server_port, ip_protocol, packets_c2s, packets_s2c, bytes_c2s, bytes_s2c FROM l4_flow_log WHERE org_id = {org:UUID} AND agent_id = {agent:UUID}",
    );
    expect(flowKeys(stored)).toEqual(flowKeys(expected));
    const all = await q("SELECT count() AS n FROM l4_flow_log");
    expect(Number(all[0]?.n)).toBe(stored.length);
    const nm = await q(
      "SELECT sum(packets_c2s + packets_s2c) AS p FROM network_metrics WHERE org_id = {org:UUID} AND agent_id = {agent:UUID}",
    );
    expect(Number(nm[0]?.p)).toBe(analyzed.stats.flowPackets);

    // L7: every row once, linked to a stored flow, and the flows carry their detected protocol.
    const l7 = await q(
      "SELECT l7_protocol, request_resource, response_code, flow_id IN (SELECT flow_id FROM l4_flow_log WHERE org_id = {org:UUID}) AS linked FROM l7_flow_log WHERE org_id = {org:UUID} AND agent_id = {agent:UUID}",
    );
    const l7Key = (r: Record<string, unknown>) => `${r.l7_protocol} ${r.request_resource} ${r.response_code}`;
    expect(l7.map(l7Key).sort()).toEqual(expectedL7.map(l7Key).sort());
    expect(l7.every((r) => Number(r.linked) === 1)).toBe(true);
    const protos = await q(
      "SELECT l7_protocol, count() AS n FROM l4_flow_log WHERE org_id = {org:UUID} AND l7_protocol != '' GROUP BY l7_protocol ORDER BY l7_protocol",
    );
    const expectedProtos = new Map<string, number>();
    for (const r of expected) {
      const p = String(r.l7_protocol);
      if (p) expectedProtos.set(p, (expectedProtos.get(p) ?? 0) + 1);
    }
    expect(protos.map((r) => `${r.l7_protocol}=${r.n}`)).toEqual(
      [...expectedProtos].sort().map(([p, n]) => `${p}=${n}`),
    );
    const am = await q(
      "SELECT sum(requests) AS n FROM application_metrics WHERE org_id = {org:UUID} AND agent_id = {agent:UUID}",
    );
    expect(Number(am[0]?.n)).toBe(expectedRequests);

    const agent = await tdb.db.unsafe.agent.findUnique({ where: { id: identity.agentId } });
    expect(agent).toMatchObject({ appliedRevision: 1, lastConfigOk: true });

    // A second start reuses the saved identity: no token needed, no second agent.
    const again = await runAgent([
      "--pcap",
      PCAP,
      "--speed",
      "max",
      "--controller",
      url,
      "--state-dir",
      stateDir,
    ]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain(`agent ${identity.agentId}`);
    expect(await tdb.db.unsafe.agent.count({ where: { orgId: org.id } })).toBe(1);

    // --loop runs until Ctrl-C; then open flows are reported, rows flushed, exit 0.
    const before = Number((await q("SELECT count() AS n FROM l4_flow_log"))[0]?.n);
    const looped = await runAgent(
      ["--pcap", PCAP, "--speed", "max", "--loop", "--controller", url, "--state-dir", stateDir, "--no-l7"],
      1000,
    );
    expect(looped.code, looped.stderr).toBe(0);
    expect(looped.stdout).toMatch(/interrupted/);
    const exported = Number(/rows exported (\d+)/.exec(looped.stdout)?.[1]);
    expect(exported).toBeGreaterThan(0);
    const after = Number((await q("SELECT count() AS n FROM l4_flow_log"))[0]?.n);
    expect(after).toBeGreaterThan(before);
  });
});
