import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "@flowplane/core/log";
import { seedAgentGroup, seedEnrollmentToken, seedOrg } from "@flowplane/db/seed";
import { createTestDatabase, type TestDatabase } from "@flowplane/db/testing";
import { createTestClickhouse, type TestClickhouse } from "@flowplane/query/testing";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CredentialHolder,
  enroll,
  HttpExporter,
  makeBatch,
  sync,
} from "../../agent/src/controller-link/index.ts";
import { createAgentRuntime } from "../src/agents/wiring.ts";
import { buildControllerServer } from "../src/http/server.ts";
import { redisUrl } from "./harness.ts";

const stats = {
  cpuPct: 1,
  memBytes: 1,
  packetsPerS: 1,
  bytesPerS: 1,
  drops: 0,
  flows: 0,
  spoolBytes: 0,
  version: "t",
};

describe("agent link over TLS", () => {
  let tdb: TestDatabase;
  let ch: TestClickhouse;
  let app: FastifyInstance;
  let url: string;
  let ca: Buffer;
  let closeRuntime: () => Promise<void>;
  const dir = mkdtempSync(join(tmpdir(), "fp-tls-"));

  beforeAll(async () => {
    // A self-signed certificate for 127.0.0.1 acts as its own private CA.
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-keyout",
        join(dir, "key.pem"),
        "-out",
        join(dir, "cert.pem"),
        "-subj",
        "/CN=flowplane-test",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
      ],
      { stdio: "ignore" },
    );
    ca = readFileSync(join(dir, "cert.pem"));
    tdb = await createTestDatabase("ctl_tls");
    ch = await createTestClickhouse("ctl_tls");
    const log = createLogger("controller-test");
    const runtime = await createAgentRuntime({
      databaseUrl: tdb.url,
      redisUrl,
      clickhouse: ch.client,
      log,
      jobs: false,
    });
    closeRuntime = runtime.close;
    app = buildControllerServer({
      log,
      probes: {},
      agentApi: runtime.agentApi,
      tls: { key: readFileSync(join(dir, "key.pem")), cert: ca },
    });
    await app.listen({ host: "127.0.0.1", port: 0 });
    url = `https://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await app?.close();
    await closeRuntime?.();
    await ch?.drop();
    await tdb?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("enrols, syncs and exports over HTTPS with the private CA; refuses without it", async () => {
    const org = await seedOrg(tdb.db);
    const group = await seedAgentGroup(tdb.db, org.id);
    const token = await seedEnrollmentToken(tdb.db, org.id, group.id);
    const req = { enrollmentToken: token.token, hostname: "tls-1", ips: [], agentVersion: "t", os: "linux" };

    const untrusted = await enroll(url, req).catch((e) => e);
    expect(untrusted).toMatchObject({ status: 0, code: "NETWORK" });

    const e = await enroll(url, req, { ca });
    const credential = new CredentialHolder(e.credential);
    const s = await sync(
      url,
      credential,
      { agentId: e.agentId, state: "running", appliedRevision: 0, stats },
      { ca },
    );
    expect(s.revision).toBe(1);
    const exporter = new HttpExporter({ endpoint: () => url, credential, ca, deadlineMs: 2000 });
    const r = await exporter.export(makeBatch(e.agentId, "l4_flow_log", [{ bogus: true }]));
    expect(r.code).toBe("success");
    if (r.code === "success") expect(r.response.rejected).toHaveLength(1);
  });
});
