import { spawn } from "node:child_process";

// Its own process, so the benches count only the sender's CPU.
const SINK_CODE = `
const http = require("node:http");
const s = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const b = Buffer.concat(chunks);
    const h = JSON.parse(b.toString("utf8", 0, b.indexOf(10)));
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ batchId: h.batchId, accepted: h.rows, rejected: [] }));
  });
});
s.listen(0, "127.0.0.1", () => process.stdout.write(String(s.address().port) + "\\n"));
`;

/** A loopback ingest sink for the exporter benches: answers every batch as stored, from its header line. */
export async function startBenchSink(): Promise<{ url: string; stop: () => void }> {
  const sink = spawn(process.execPath, ["-e", SINK_CODE], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<number>((r) =>
    sink.stdout.once("data", (d: Buffer) => r(Number(String(d)))),
  );
  return { url: `http://127.0.0.1:${port}`, stop: () => sink.kill() };
}
