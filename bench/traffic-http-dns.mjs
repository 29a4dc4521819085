// Real HTTP and DNS traffic on loopback for the benchmark capture: a node HTTP server and a DNS
// responder, and clients hammering them (new connection per HTTP request most of the time, so
// the capture holds many short flows, like a service mesh). Runs until killed.
import dgram from "node:dgram";
import http from "node:http";

const HTTP_PORT = Number(process.argv[2] ?? 18081);
const DNS_PORT = Number(process.argv[3] ?? 15354);
const body = Buffer.alloc(700, "x");

http
  .createServer((req, res) => {
    res.writeHead(req.url === "/missing" ? 404 : 200, { "content-type": "text/plain" });
    res.end(body);
  })
  .listen(HTTP_PORT, "127.0.0.1");

const dnsServer = dgram.createSocket("udp4");
dnsServer.on("message", (m, r) => {
  const out = Buffer.from(m);
  out[2] = 0x84;
  out[3] = 0x00;
  dnsServer.send(out, r.port, r.address);
});
dnsServer.bind(DNS_PORT, "127.0.0.1");

const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 4 });
let n = 0;
function httpLoop(agent) {
  const req = http.get(
    { host: "127.0.0.1", port: HTTP_PORT, path: n++ % 10 === 0 ? "/missing" : "/api/items", agent },
    (res) => {
      res.resume();
      res.on("end", () => setImmediate(() => httpLoop(agent)));
    },
  );
  req.on("error", () => setTimeout(() => httpLoop(agent), 10));
}
for (let i = 0; i < 4; i++) httpLoop(false);
for (let i = 0; i < 4; i++) httpLoop(keepAlive);

// DNS: a query, wait for the answer, next; a few sockets so there are several flows.
function query(id, name) {
  const labels = name.split(".").map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id & 0xffff, 0);
  h.writeUInt16BE(0x0100, 2);
  h.writeUInt16BE(1, 4);
  return Buffer.concat([h, ...labels, Buffer.from([0, 0, 1, 0, 1])]);
}
for (let s = 0; s < 4; s++) {
  const sock = dgram.createSocket("udp4");
  let id = 0;
  const next = () => sock.send(query(id++, `svc${id % 50}.bench.test`), DNS_PORT, "127.0.0.1");
  sock.on("message", () => setImmediate(next));
  sock.bind(0, "127.0.0.1", next);
}
