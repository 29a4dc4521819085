// Real web traffic on loopback for the HTTP-heavy benchmark capture (`web-1m.pcap`): one node
// HTTP server playing a small web shop (HTML pages, JSON API, static assets, uploads, errors),
// a DNS responder, and the node clients of the mix (service-to-service API calls with trace
// headers over keep-alive and new connections, uploads with chunked and 100-continue bodies,
// paced DNS queries). wrk (browsers), ab and curl are started by make-capture.mjs against the
// same server. Runs until killed.
//   node bench/traffic-web.mjs <httpPort> <dnsPort> [server|clients]
// The mix and why it looks like this: docs/benchmarks.md, "The HTTP-heavy capture".
import dgram from "node:dgram";
import http from "node:http";

const HTTP_PORT = Number(process.argv[2] ?? 18090);
const DNS_PORT = Number(process.argv[3] ?? 15355);
const ROLE = process.argv[4] ?? "server";

/** Deterministic pseudo-random numbers (mulberry32): the same mix every recording. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Log-uniform size in [lo, hi]: many small, few big, like real pages and assets. */
const sizeBetween = (r, lo, hi) => Math.round(lo * (hi / lo) ** r());

const WORDS =
  "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua".split(
    " ",
  );
function text(r, n) {
  let s = "";
  while (s.length < n) s += `${WORDS[Math.floor(r() * WORDS.length)]} `;
  return s.slice(0, n);
}

function html(r, id, size) {
  const head = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Product ${id}</title><link rel="stylesheet" href="/static/main.3f9a1c.css"><script defer src="/static/app.8d2e4b.js"></script></head><body>`;
  const tail = "</body></html>\n";
  let body = "";
  while (head.length + body.length + tail.length < size)
    body += `<section class="item"><h2>${text(r, 24)}</h2><p>${text(r, 200)}</p><img src="/img/p${id}-${Math.floor(r() * 8)}.jpg" alt=""></section>\n`;
  return { head, body: body.slice(0, Math.max(0, size - head.length - tail.length)), tail };
}

function json(r, size) {
  const items = [];
  let s = "";
  for (let i = 0; s.length < size; i++) {
    items.push({
      id: Math.floor(r() * 1e6),
      name: text(r, 18).trim(),
      price: Math.round(r() * 10000) / 100,
      stock: Math.floor(r() * 500),
      tags: ["new", "sale", "eco"].slice(0, 1 + (i % 3)),
    });
    s = JSON.stringify({ items, page: 1, total: 1000 });
  }
  return s;
}

function server() {
  const r = rng(7);
  // Bodies built once: the server's CPU goes to HTTP, as a caching web server's would.
  const pages = Array.from({ length: 200 }, (_, i) => html(r, i, sizeBetween(r, 5_000, 50_000)));
  const apiBodies = Array.from({ length: 64 }, () => Buffer.from(json(r, sizeBetween(r, 300, 3_000))));
  const assets = new Map();
  const asset = (path, type, lo, hi) =>
    assets.set(path, { type, body: Buffer.alloc(sizeBetween(r, lo, hi), 97) });
  // Transfer sizes (gzip/brotli for text, as served): JS bundles, CSS, a font, icons, photos.
  asset("/static/app.8d2e4b.js", "application/javascript", 25_000, 70_000);
  asset("/static/vendor.1c77e0.js", "application/javascript", 40_000, 100_000);
  asset("/static/main.3f9a1c.css", "text/css", 6_000, 20_000);
  asset("/static/fonts/inter.woff2", "font/woff2", 15_000, 40_000);
  asset("/favicon.ico", "image/x-icon", 1_000, 5_000);
  for (let i = 0; i < 24; i++) asset(`/static/icons/i${i}.svg`, "image/svg+xml", 400, 3_000);
  for (let p = 0; p < 200; p++)
    for (let k = 0; k < 8; k++) asset(`/img/p${p}-${k}.jpg`, "image/jpeg", 3_000, 60_000);
  const etagOf = (path) => `"${path.length.toString(16)}-${path.charCodeAt(path.length - 5).toString(16)}"`;
  let n = 0;

  const srv = http.createServer((req, res) => {
    n++;
    res.setHeader("server", "shop/2.4");
    const url = req.url ?? "/";
    const path = url.split("?")[0];
    if (req.method === "POST" || req.method === "PUT") {
      let len = 0;
      req.on("data", (d) => {
        len += d.length;
      });
      req.on("end", () => {
        if (path === "/login") {
          res.writeHead(302, {
            location: "/account",
            "set-cookie": `sid=${n.toString(36)}; HttpOnly; Path=/`,
          });
          res.end();
        } else if (path === "/api/events") {
          res.writeHead(204);
          res.end();
        } else if (len > 64_000) {
          res.writeHead(413, { "content-type": "application/json" });
          res.end('{"error":"payload too large"}');
        } else {
          const b = `{"id":${n},"received":${len},"status":"created"}`;
          res.writeHead(201, { "content-type": "application/json", "content-length": Buffer.byteLength(b) });
          res.end(b);
        }
      });
      return;
    }
    if (path === "/healthz") {
      res.writeHead(200, { "content-type": "application/json", "content-length": 15 });
      res.end('{"status":"ok"}');
      return;
    }
    if (path === "/" || path.startsWith("/page/")) {
      const id = path === "/" ? 0 : Number(path.slice(6));
      const page = pages[id];
      if (page === undefined) return notFound(res);
      res.setHeader("content-type", "text/html; charset=utf-8");
      res.setHeader("cache-control", "private, no-cache");
      if (id % 2 === 0) {
        // Rendered as it streams (server-side rendering): chunked, in three writes.
        res.writeHead(200);
        res.write(page.head);
        res.write(page.body);
        res.end(page.tail);
      } else {
        const b = page.head + page.body + page.tail;
        res.writeHead(200, { "content-length": Buffer.byteLength(b) });
        res.end(b);
      }
      return;
    }
    if (path.startsWith("/api/")) {
      // A failing backend now and then: 500s on the API, about 0.5 % of calls.
      if (n % 199 === 0) {
        res.writeHead(500, { "content-type": "application/json" });
        res.end('{"error":"upstream timeout"}');
        return;
      }
      // Unknown users: a 404 from the API, as for any stale id.
      if (path.startsWith("/api/users/") && Number(path.slice(11)) > 4600) return notFound(res);
      const b = apiBodies[n & 63];
      res.setHeader("content-type", "application/json");
      res.setHeader("cache-control", "no-store");
      if (path.startsWith("/api/search")) {
        // Search results stream: chunked.
        res.writeHead(200);
        res.end(b);
      } else {
        res.writeHead(200, { "content-length": b.length });
        res.end(b);
      }
      return;
    }
    const a = assets.get(path);
    if (a === undefined) return notFound(res);
    const etag = etagOf(path);
    if (req.headers["if-none-match"] === etag) {
      res.writeHead(304, { etag, "cache-control": "public, max-age=3600" });
      res.end();
      return;
    }
    res.writeHead(200, {
      "content-type": a.type,
      "content-length": a.body.length,
      etag,
      "cache-control": "public, max-age=3600",
    });
    res.end(a.body);
  });
  srv.keepAliveTimeout = 5_000;
  srv.listen(HTTP_PORT, "127.0.0.1");

  function notFound(res) {
    const b = "<html><body><h1>404 Not Found</h1></body></html>";
    res.writeHead(404, { "content-type": "text/html", "content-length": b.length });
    res.end(b);
  }

  // DNS: A / AAAA answers for the shop's names, NXDOMAIN for the rest.
  const dns = dgram.createSocket("udp4");
  dns.on("message", (m, from) => {
    if (m.length < 17) return;
    let o = 12;
    while (o < m.length && m[o] !== 0) o += m[o] + 1;
    const qend = o + 5;
    if (qend > m.length) return;
    const name = m.subarray(13, o).toString("latin1");
    const type = m.readUInt16BE(o + 1);
    const known = !name.includes("nx");
    const h = Buffer.from(m.subarray(0, qend));
    h[2] = 0x81;
    h[3] = known ? 0x80 : 0x83;
    h.writeUInt16BE(known ? 1 : 0, 6);
    h.writeUInt16BE(0, 8);
    h.writeUInt16BE(0, 10);
    if (!known) return dns.send(h, from.port, from.address);
    const rdata = type === 28 ? Buffer.alloc(16, 0x20) : Buffer.from([10, 0, 3, 7]);
    const rr = Buffer.alloc(12);
    rr.writeUInt16BE(0xc00c, 0);
    rr.writeUInt16BE(type, 2);
    rr.writeUInt16BE(1, 4);
    rr.writeUInt32BE(60, 6);
    rr.writeUInt16BE(rdata.length, 10);
    dns.send(Buffer.concat([h, rr, rdata]), from.port, from.address);
  });
  dns.bind(DNS_PORT, "127.0.0.1");
}

function clients() {
  const r = rng(11);
  const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 6 });
  const hex = (k) => {
    let s = "";
    while (s.length < k)
      s += Math.floor(r() * 0x100000000)
        .toString(16)
        .padStart(8, "0");
    return s.slice(0, k);
  };
  // Service-to-service calls: JSON API, W3C trace context and a request id on every call.
  function apiCall(agent, done) {
    const x = r();
    const id = Math.floor(r() * 5000);
    const headers = {
      accept: "application/json",
      "user-agent": "orders-svc/1.8 node",
      traceparent: `00-${hex(32)}-${hex(16)}-01`,
      "x-request-id": hex(20),
    };
    let method = "GET";
    let path;
    let body = null;
    if (x < 0.35) path = `/api/products/${id}`;
    else if (x < 0.55) path = `/api/products?category=${id % 40}&page=${1 + (id % 7)}&sort=price`;
    else if (x < 0.7) path = `/api/users/${id}`;
    else if (x < 0.8) path = `/api/search?q=${text(r, 8).trim().replace(/ /g, "+")}`;
    else if (x < 0.88) path = `/api/inventory/${id}`;
    else if (x < 0.97) {
      method = "POST";
      path = "/api/orders";
      body = JSON.stringify({
        user: id,
        items: [{ sku: hex(8), qty: 1 + (id % 3) }],
        note: text(r, sizeBetween(r, 50, 1500)),
      });
      headers["content-type"] = "application/json";
    } else {
      method = "PUT";
      path = `/api/users/${id}/avatar`;
      body = Buffer.alloc(sizeBetween(r, 4_000, 40_000), 1);
      headers["content-type"] = "image/png";
      headers.expect = "100-continue";
    }
    // Half the uploads stream their body (chunked request), the others say its length.
    const chunked = body !== null && id % 2 === 0;
    if (body !== null && !chunked) headers["content-length"] = Buffer.byteLength(body);
    const req = http.request({ host: "127.0.0.1", port: HTTP_PORT, method, path, headers, agent }, (res) => {
      res.resume();
      res.on("end", done);
    });
    req.on("error", () => setTimeout(done, 10));
    if (body === null) req.end();
    else if (headers.expect) req.on("continue", () => req.end(body));
    else if (chunked) {
      const s = typeof body === "string" ? body : body.toString("latin1");
      req.write(s.slice(0, s.length >> 1));
      req.end(s.slice(s.length >> 1));
    } else req.end(body);
  }
  const loop = (agent, pauseMs) => {
    const next = () =>
      pauseMs > 0
        ? setTimeout(() => apiCall(agent, next), pauseMs)
        : setImmediate(() => apiCall(agent, next));
    next();
  };
  for (let i = 0; i < 4; i++) loop(keepAlive, 1);
  // Clients without a connection pool: a new connection per call.
  for (let i = 0; i < 2; i++) loop(false, 2);

  // DNS: paced queries from a few sockets (resolver caches keep DNS a small share of real traffic).
  const names = [
    "shop.local",
    "api.shop.local",
    "cdn.shop.local",
    "db.internal",
    "nx-missing.local",
    "auth.shop.local",
  ];
  for (let s = 0; s < 2; s++) {
    const sock = dgram.createSocket("udp4");
    let id = s * 1000;
    const next = () => {
      const name = names[id % names.length];
      const labels = name.split(".").map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
      const h = Buffer.alloc(12);
      h.writeUInt16BE(id++ & 0xffff, 0);
      h.writeUInt16BE(0x0100, 2);
      h.writeUInt16BE(1, 4);
      const q = Buffer.concat([h, ...labels, Buffer.from([0, 0, id % 3 === 0 ? 28 : 1, 0, 1])]);
      sock.send(q, DNS_PORT, "127.0.0.1");
    };
    sock.on("message", () => setTimeout(next, 3));
    sock.bind(0, "127.0.0.1", next);
  }
}

if (ROLE === "server") server();
else clients();
