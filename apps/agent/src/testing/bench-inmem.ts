/** Engine-only throughput over an in-memory synthetic capture, best of 4 runs: `bench-inmem.ts [flows]`. */
import { readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readCaptureBuffer } from "../capture/capture-file.ts";
import { createEngine } from "../flow/flow-engine.ts";
import { writeSyntheticPcap } from "../testing/synthetic-pcap.ts";

const path = join(tmpdir(), "flowplane-bench-inmem.pcap");
const n = writeSyntheticPcap(path, { flows: Number(process.argv[2] ?? 100000), dataRounds: 24 });
const buf = readFileSync(path);
rmSync(path, { force: true });
for (let run = 0; run < 4; run++) {
  const e = createEngine({ maxFlows: 1_000_000 });
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  readCaptureBuffer(
    buf,
    (lt, b, o, c, w, ts, fo) => e.packet(lt, b, o, c, w, ts, fo),
    () => {},
  );
  e.flush();
  const c = process.cpuUsage(c0);
  const t = performance.now() - t0;
  console.log(
    run,
    "wall Mpps",
    (n / t / 1000).toFixed(2),
    "cpu Mpps",
    (n / ((c.user + c.system) / 1000)).toFixed(2),
  );
}
