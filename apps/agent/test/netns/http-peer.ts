/**
 * The two ends of the NAT lab's HTTP traffic, run inside network namespaces by nat-lab.ts
 * (`ip netns exec <ns> node --import tsx http-peer.ts ...`), because a process cannot enter
 * another namespace from Node itself.
 *
 *   server <ip> <port>          answers every request with 200 and a small JSON body; prints
 *                               "ready" once listening, stops on SIGTERM
 *   client <url> <plan json>    makes the planned calls one after another and prints one JSON
 *                               line: what each call sent and the local port it used
 *
 * A plan is a list of `{ path, connection: "new" | "reuse", traceparent? }`: "new" opens its own
 * TCP connection, "reuse" goes over the keep-alive connection of the previous "reuse" call, so
 * the lab has both one-call flows and several calls in one flow.
 */
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { MadeCall, PlannedCall } from "./nat-lab.ts";

function serve(ip: string, port: number): void {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const body = JSON.stringify({ path: req.url, ok: true });
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
      res.end(body);
    });
  });
  server.listen(port, ip, () => {
    process.stdout.write(`ready ${(server.address() as AddressInfo).port}\n`);
  });
  process.on("SIGTERM", () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
}

function call(url: URL, c: PlannedCall, agent: http.Agent): Promise<MadeCall> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (c.traceparent) headers.traceparent = c.traceparent;
    const req = http.request(url, { method: "GET", path: c.path, agent, headers, timeout: 5_000 }, (res) => {
      const socket = res.socket as Socket;
      res.resume();
      res.on("end", () => resolve({ ...c, status: res.statusCode ?? 0, localPort: socket.localPort ?? 0 }));
    });
    req.on("timeout", () => req.destroy(new Error(`${c.path}: no answer within 5 s`)));
    req.on("error", reject);
    req.end();
  });
}

async function client(base: string, plan: PlannedCall[]): Promise<void> {
  const url = new URL(base);
  // maxSockets 1 keeps every "reuse" call on the same connection.
  const reuse = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const made: MadeCall[] = [];
  for (const c of plan) {
    const agent = c.connection === "reuse" ? reuse : new http.Agent({ keepAlive: false });
    made.push(await call(url, c, agent));
    if (c.connection === "new") agent.destroy();
  }
  reuse.destroy();
  process.stdout.write(`${JSON.stringify(made)}\n`);
}

const [mode, a, b] = process.argv.slice(2);
if (mode === "server" && a && b) serve(a, Number(b));
else if (mode === "client" && a && b) {
  client(a, JSON.parse(b) as PlannedCall[]).catch((err: unknown) => {
    process.stderr.write(`http-peer client: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
} else {
  process.stderr.write("usage: http-peer.ts server <ip> <port> | client <url> <plan json>\n");
  process.exit(2);
}
