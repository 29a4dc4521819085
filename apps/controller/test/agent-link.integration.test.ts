import { copyFileSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { seedAgentGroup, seedEnrollmentToken, seedOrg } from "@flowplane/db/seed";
import type { TestDatabase } from "@flowplane/db/testing";
import type { TestClickhouse } from "@flowplane/query/testing";
import { agentL4Row } from "@flowplane/query/testing-fixtures";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// The agent's own client, over a real socket: both halves of the protocol in one test.
import {
  CredentialHolder,
  DiskSpool,
  enroll,
  HttpExporter,
  loadOrEnroll,
  makeBatch,
  readLinkState,
  SpoolingSender,
  SyncLoop,
  saveLinkState,
  sync,
} from "../../agent/src/controller-link/index.ts";
import { startListeningController, STATS as stats, type TListeningController } from "./harness.ts";

describe("agent controller-link against a listening controller", () => {
  let tdb: TestDatabase;
  let ch: TestClickhouse;
  let url: string;
  let controller: TListeningController;

  beforeAll(async () => {
    controller = await startListeningController("ctl_link", { options: { credentialMaxAgeS: 3600 } });
    ({ tdb, ch, url } = controller);
  });
  afterAll(() => controller?.close());

  it("enrols, syncs (config, rotation) and exports idempotently", async () => {
    const org = await seedOrg(tdb.db);
    const group = await seedAgentGroup(tdb.db, org.id, { syncIntervalS: 4 });
    const token = await seedEnrollmentToken(tdb.db, org.id, group.id);

    const enrolled = await enroll(url, {
      enrollmentToken: token.token,
      hostname: "edge-1",
      ips: ["192.0.2.1"],
      agentVersion: "0.1.0",
      os: "linux",
    });
    expect(enrolled.syncIntervalS).toBe(4);
    const persisted: string[] = [];
    const credential = new CredentialHolder(enrolled.credential, (c) => {
      persisted.push(c);
    });

    const first = await sync(url, credential, {
      agentId: enrolled.agentId,
      state: "starting",
      appliedRevision: 0,
      stats,
    });
    expect(first.revision).toBe(1);
    expect(first.config?.limits.maxCpuPct).toBeGreaterThan(0);

    await tdb.db.unsafe.agent.update({
      where: { id: enrolled.agentId },
      data: { credentialIssuedAt: new Date(Date.now() - 7200_000) },
    });
    const rotated = await sync(url, credential, {
      agentId: enrolled.agentId,
      state: "running",
      appliedRevision: 1,
      stats,
    });
    expect(rotated.config).toBeUndefined();
    expect(persisted).toHaveLength(1);
    expect(credential.get().credential).toBe(persisted[0]);

    const exporter = new HttpExporter({ endpoint: () => url, credential, deadlineMs: 5000 });
    const batch = makeBatch(
      enrolled.agentId,
      "l4_flow_log",
      [0, 1, 2, 3].map(() => agentL4Row()),
    );
    const r1 = await exporter.export(batch);
    expect(r1.code).toBe("success");
    const r2 = await exporter.export(batch);
    expect(r2.code === "success" && r2.response.duplicate).toBe(true);

    const rs = await ch.client.query({
      query: "SELECT count() AS n FROM l4_flow_log WHERE org_id = {org:UUID} AND agent_id = {agent:UUID}",
      query_params: { org: org.id, agent: enrolled.agentId },
      format: "JSONEachRow",
    });
    expect(await rs.json()).toEqual([{ n: "4" }]);

    // The credential from before the rotation no longer works once the new one was used.
    const stale = new CredentialHolder(enrolled.credential);
    const refused = await sync(url, stale, {
      agentId: enrolled.agentId,
      state: "running",
      appliedRevision: 1,
      stats,
    }).catch((e) => e);
    expect(refused).toMatchObject({ status: 401, code: "UNAUTHORIZED" });
  });

  it("spools while no controller answers, replays afterwards: every row once, none lost", async () => {
    const org = await seedOrg(tdb.db);
    const group = await seedAgentGroup(tdb.db, org.id);
    const token = await seedEnrollmentToken(tdb.db, org.id, group.id);
    const enrolled = await enroll(url, {
      enrollmentToken: token.token,
      hostname: "edge-2",
      ips: [],
      agentVersion: "0.1.0",
      os: "linux",
    });
    const credential = new CredentialHolder(enrolled.credential);
    let endpoint = "http://127.0.0.1:9"; // nothing listens: the "data node" is down
    const exporter = new HttpExporter({ endpoint: () => endpoint, credential, deadlineMs: 50 });
    const dir = mkdtempSync(join(tmpdir(), "fp-link-spool-"));
    try {
      const spool = await DiskSpool.open(dir, 8 << 20);
      const sender = new SpoolingSender(exporter, spool);
      let produced = 0;
      for (let b = 0; b < 5; b++) {
        const rows = [0, 1, 2].map(() => agentL4Row());
        produced += rows.length;
        expect((await sender.send(makeBatch(enrolled.agentId, "l4_flow_log", rows))).code).toBe("spooled");
      }
      // Keep a copy of the first batch's file: replaying it later is what a crash between
      // "controller stored it" and "spool removed it" looks like.
      const firstFile = readdirSync(dir).sort()[0] as string;
      copyFileSync(join(dir, firstFile), join(dir, "..", `${firstFile}.bak`));

      endpoint = url;
      expect(await sender.flush()).toEqual({ sent: 5, pending: 0 });
      copyFileSync(join(dir, "..", `${firstFile}.bak`), join(dir, firstFile));
      rmSync(join(dir, "..", `${firstFile}.bak`));
      const reopened = await DiskSpool.open(dir, 8 << 20);
      expect(await reopened.replay(exporter)).toEqual({ sent: 1, pending: 0 });
      expect(exporter.counters.duplicates).toBe(1);

      const rs = await ch.client.query({
        query: "SELECT count() AS n, uniqExact(flow_id) AS flows FROM l4_flow_log WHERE org_id = {org:UUID}",
        query_params: { org: org.id },
        format: "JSONEachRow",
      });
      expect(await rs.json()).toEqual([{ n: String(produced), flows: String(produced) }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("loadOrEnroll keeps the identity on disk; SyncLoop applies, reports per revision, keeps the last good one", async () => {
    const org = await seedOrg(tdb.db);
    const group = await seedAgentGroup(tdb.db, org.id, { syncIntervalS: 2 });
    const token = await seedEnrollmentToken(tdb.db, org.id, group.id);
    const dir = mkdtempSync(join(tmpdir(), "fp-link-state-"));
    const stateFile = join(dir, "agent.json");
    try {
      const info = { hostname: "edge-3", ips: ["192.0.2.3"], agentVersion: "0.1.0", os: "linux" };
      const state = await loadOrEnroll({
        stateFile,
        controllerUrl: url,
        enrollmentToken: token.token,
        ...info,
      });
      expect(await loadOrEnroll({ stateFile, controllerUrl: url, ...info })).toEqual(state); // no second enrolment
      const orgDb = tdb.db.forOrg(org.id);
      expect((await orgDb.enrollmentToken.findUniqueOrThrow({ where: { id: token.id } })).uses).toBe(1);

      const credential = new CredentialHolder(state.credential, (c) =>
        saveLinkState(stateFile, { ...state, credential: c }),
      );
      const applied: number[] = [];
      let failNext = false;
      const loop = new SyncLoop({
        controllerUrl: url,
        agentId: state.agentId,
        credential,
        stats: () => stats,
        runState: () => "running",
        applyConfig: async (_config, revision) => {
          if (failNext) throw new Error("interface eth7 not found");
          applied.push(revision);
        },
      });
      await loop.tick();
      expect(applied).toEqual([1]);
      expect(loop.intervalS).toBe(2);
      expect(await orgDb.agent.findUniqueOrThrow({ where: { id: state.agentId } })).toMatchObject({
        appliedRevision: 1,
        lastConfigRevision: 1,
        lastConfigOk: true,
      });

      failNext = true;
      await orgDb.agentGroupConfig.create({
        data: { orgId: org.id, groupId: group.id, revision: 2, config: {} },
      });
      await orgDb.agentGroup.update({ where: { id: group.id }, data: { currentRevision: 2 } });
      await loop.tick();
      expect(loop.appliedRevision).toBe(1);
      expect(await orgDb.agent.findUniqueOrThrow({ where: { id: state.agentId } })).toMatchObject({
        appliedRevision: 1,
        lastConfigRevision: 2,
        lastConfigOk: false,
        lastConfigError: "interface eth7 not found",
      });

      // A rotation reaches the state file before the loop uses the new credential.
      await orgDb.agent.update({
        where: { id: state.agentId },
        data: { credentialIssuedAt: new Date(Date.now() - 7200_000) },
      });
      await loop.tick();
      const saved = await readLinkState(stateFile);
      expect(saved?.credential).toBe(credential.get().credential);
      expect(saved?.credential).not.toBe(state.credential);
      expect(loop.lastError).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
