import { statSync } from "node:fs";
import { basename } from "node:path";
import { describe, expect, it } from "vitest";
import { tsharkFlows } from "../tshark/reference.ts";
import { capturesDir, recordedCaptures, recordedDecodeAs } from "./index.ts";

describe("recorded captures", () => {
  it("are all there", () => {
    const names = recordedCaptures().map((f) => f.slice(capturesDir.length + 1));
    for (const n of [
      "http-curl.pcap",
      "dns-dig.pcap",
      "redis-cli.pcap",
      "pgsql-psql.pcap",
      "mysql-client.pcap",
    ]) {
      expect(names).toContain(n);
    }
  });

  for (const file of recordedCaptures()) {
    it(`${file.slice(capturesDir.length + 1)} is small and has complete flows per tshark`, async () => {
      expect(statSync(file).size).toBeLessThan(200_000);
      const r = await tsharkFlows(file, { decodeAs: recordedDecodeAs[basename(file)] });
      expect(r.warning).toBeUndefined();
      expect(r.frames).toBeGreaterThan(0);
      expect(r.flows.length).toBeGreaterThan(0);
      expect(r.flows.reduce((s, f) => s + f.packets, 0) + r.nonIp).toBe(r.frames);
    });
  }
});
