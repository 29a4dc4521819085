import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { seedAgentGroup, seedEnrollmentToken, seedOrg } from "@flowplane/db/seed";
import type { TestDatabase } from "@flowplane/db/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CredentialHolder,
  enroll,
  HttpExporter,
  makeBatch,
  sync,
} from "../../agent/src/controller-link/index.ts";
import { startListeningController, STATS as stats, type TListeningController } from "./harness.ts";

describe("agent link over TLS", () => {
  let tdb: TestDatabase;
  let url: string;
  let controller: TListeningController;
  let ca: Buffer;
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
    controller = await startListeningController("ctl_tls", {
      tls: { key: readFileSync(join(dir, "key.pem")), cert: ca },
    });
    ({ tdb, url } = controller);
  });
  afterAll(async () => {
    await controller?.close();
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
