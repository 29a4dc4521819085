// Benchmark captures, generated once and cached under bench/out/ (gitignored):
// - real-1m.pcap: at least 1 M packets of real loopback traffic recorded with tcpdump while real
//   clients hammer local servers: redis-benchmark (private redis-server), pgbench (the local
//   Postgres), mysqlslap (the local MariaDB), and a node HTTP + DNS client/server pair.
//   Recording stops at the packet count or after MAX_SECONDS, whichever comes first.
// - web-1m.pcap: the HTTP-heavy one (issue 4's L7 line): at least 1 M packets of real web
//   traffic on lo against one local web server (bench/traffic-web.mjs): wrk as browsers
//   (keep-alive, bench/wrk-browse.lua), node service clients (keep-alive and new connections,
//   trace headers, uploads), ab and curl (new connections), plus paced DNS.
// - syn-1m-flows.pcap: 1 M synthetic SYN packets with distinct 5-tuples, written as pcap
//   directly, all within a few seconds (no flow times out): the peak-RSS line.
// Usage: node bench/make-capture.mjs [--force]
import { execFileSync, spawn, spawnSync } from "node:child_process";
import {
  closeSync,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
export const OUT_DIR = join(HERE, "out");
const TARGET_PACKETS = 1_100_000;
const MAX_SECONDS = 150;
const REDIS_PORT = 16380;
const HTTP_PORT = 18081;
const DNS_PORT = 15354;
const PG_DB = "flowplane_bench";
const WEB_PORT = 18090;
const WEB_DNS_PORT = 15355;

const log = (msg) => process.stderr.write(`make-capture: ${msg}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function need(tool) {
  const r = spawnSync("sh", ["-c", `command -v ${tool}`]);
  if (r.status !== 0) throw new Error(`${tool} is missing: run scripts/install-system.sh`);
}

/** Packet count of a pcap (classic format, any endianness) without tshark: walk the records. */
export function countPcapPackets(path) {
  // Read in blocks: the web capture is several GB (more than one Buffer holds).
  const fd = openSync(path, "r");
  try {
    const hdr = Buffer.alloc(16);
    readSync(fd, hdr, 0, 4, 0);
    const magic = hdr.readUInt32LE(0);
    const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
    const size = fstatSync(fd).size;
    let off = 24;
    let n = 0;
    while (off + 16 <= size) {
      readSync(fd, hdr, 0, 16, off);
      const cap = le ? hdr.readUInt32LE(8) : hdr.readUInt32BE(8);
      off += 16 + cap;
      if (off > size) break;
      n++;
    }
    return n;
  } finally {
    closeSync(fd);
  }
}

function start(cmd, args, opts = {}) {
  const child = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"], ...opts });
  let err = "";
  child.stderr?.on("data", (d) => {
    err += d.toString();
    if (err.length > 4000) err = err.slice(-4000);
  });
  child.lastStderr = () => err;
  return child;
}

function stop(child) {
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
}

async function waitPort(port) {
  const net = await import("node:net");
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise((res) => {
      const s = net.connect(port, "127.0.0.1", () => {
        s.destroy();
        res(true);
      });
      s.on("error", () => res(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`nothing listening on 127.0.0.1:${port}`);
}

/** tcpdump on lo writing every byte of up to TARGET_PACKETS packets that match `filter` to `tmp`. */
function startTcpdump(tmp, filter) {
  return start("tcpdump", [
    "-i",
    "lo",
    "-s",
    "0",
    "-Z",
    "root",
    "-B",
    "65536",
    "-c",
    String(TARGET_PACKETS),
    "-w",
    tmp,
    filter,
  ]);
}

/**
 * The stopped recording `tmp` becomes `path` (with its description in `meta`) when it holds the
 * 1 M packets a benchmark capture needs; the description is returned.
 */
function keepRecording(tmp, path, meta, tcpdump, traffic) {
  const packets = countPcapPackets(tmp);
  if (packets < 1_000_000) {
    throw new Error(
      `only ${packets} packets recorded in ${MAX_SECONDS} s (target 1 M): machine too busy? tcpdump said: ${tcpdump.lastStderr().trim()}`,
    );
  }
  renameSync(tmp, path);
  const info = { path, packets, recorded: new Date().toISOString(), traffic };
  writeFileSync(meta, JSON.stringify(info, null, 2));
  log(`wrote ${path}: ${packets} packets`);
  return info;
}

export async function ensureRealCapture({ force = false } = {}) {
  const path = join(OUT_DIR, "real-1m.pcap");
  const meta = join(OUT_DIR, "real-1m.json");
  if (!force && existsSync(path) && existsSync(meta)) return JSON.parse(readFileSync(meta, "utf8"));
  for (const t of ["tcpdump", "redis-server", "redis-benchmark", "pgbench", "psql", "mysqlslap"]) need(t);
  if (process.getuid?.() !== 0) throw new Error("recording the benchmark capture needs root (tcpdump on lo)");
  mkdirSync(OUT_DIR, { recursive: true });
  const tmp = `${path}.tmp`;

  // Postgres: a bench database of our own, initialised once.
  const pgEnv = { ...process.env, PGHOST: "127.0.0.1", PGUSER: "postgres", PGSSLMODE: "disable" };
  const exists = execFileSync(
    "psql",
    ["-XAtq", "-d", "postgres", "-c", `select 1 from pg_database where datname='${PG_DB}'`],
    { env: pgEnv },
  )
    .toString()
    .trim();
  if (exists !== "1") {
    execFileSync("psql", ["-Xq", "-d", "postgres", "-c", `create database ${PG_DB}`], { env: pgEnv });
    execFileSync("pgbench", ["-i", "-s", "1", "-q", PG_DB], { env: pgEnv, stdio: "ignore" });
  }

  const servers = [
    start("redis-server", [
      "--port",
      String(REDIS_PORT),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
    ]),
    start(process.execPath, [join(HERE, "traffic-http-dns.mjs"), String(HTTP_PORT), String(DNS_PORT)]),
  ];
  const clients = [];
  const filter = `port ${REDIS_PORT} or port ${HTTP_PORT} or port ${DNS_PORT} or tcp port 5432 or tcp port 3306`;
  const tcpdump = startTcpdump(tmp, filter);
  try {
    await waitPort(REDIS_PORT);
    for (let i = 0; i < 100 && !tcpdump.lastStderr().includes("listening on"); i++) await sleep(50);
    log(`recording up to ${TARGET_PACKETS} packets (at most ${MAX_SECONDS} s)`);
    // Clients start after tcpdump listens: redis and the HTTP/DNS pair are already running,
    // Postgres and MariaDB clients open new connections now.
    clients.push(
      start("redis-benchmark", [
        "-p",
        String(REDIS_PORT),
        "-c",
        "2",
        "-n",
        "100000000",
        "-q",
        "-t",
        "ping,set,get,incr,lpush,lrange_100",
        "-r",
        "10000",
      ]),
      start("pgbench", ["-n", "-S", "-c", "4", "-j", "2", "-C", "-T", String(MAX_SECONDS), PG_DB], {
        env: pgEnv,
      }),
      start("pgbench", ["-n", "-S", "-c", "2", "-j", "1", "-T", String(MAX_SECONDS), PG_DB], { env: pgEnv }),
      start("mysqlslap", [
        "-h",
        "127.0.0.1",
        "-u",
        "root",
        "--skip-ssl",
        "--concurrency=4",
        "--iterations=100000",
        "--auto-generate-sql",
        "--auto-generate-sql-load-type=read",
        "--number-of-queries=200",
      ]),
    );
    const deadline = Date.now() + MAX_SECONDS * 1000;
    while (tcpdump.exitCode === null && Date.now() < deadline) await sleep(250);
  } finally {
    for (const c of clients) stop(c);
    stop(tcpdump);
    await sleep(500);
    for (const s of servers) stop(s);
  }
  return keepRecording(
    tmp,
    path,
    meta,
    tcpdump,
    "redis-benchmark, pgbench -S (with and without -C), mysqlslap read load, node HTTP (new + keep-alive connections), DNS over UDP; all on lo",
  );
}

/**
 * The HTTP-heavy capture: real clients against a local web server on lo, recorded by tcpdump.
 * Built under `flock /tmp/capture.lock` (the caller's) so two recordings do not share the CPU.
 */
export async function ensureHttpCapture({ force = false } = {}) {
  const path = join(OUT_DIR, "web-1m.pcap");
  const meta = join(OUT_DIR, "web-1m.json");
  if (!force && existsSync(path) && existsSync(meta)) return JSON.parse(readFileSync(meta, "utf8"));
  if (!process.env.FLOWPLANE_CAPTURE_LOCKED) {
    // One recording at a time on this machine (other benches record real-1m.pcap): again in a
    // child holding /tmp/capture.lock, which finds the file if the lock's holder just made it.
    need("flock");
    const args = ["/tmp/capture.lock", process.execPath, fileURLToPath(import.meta.url), "--web"];
    if (force) args.push("--force");
    const r = spawnSync("flock", args, {
      stdio: "inherit",
      env: { ...process.env, FLOWPLANE_CAPTURE_LOCKED: "1" },
    });
    if (r.status !== 0) throw new Error(`recording ${path} failed (exit ${r.status})`);
    return JSON.parse(readFileSync(meta, "utf8"));
  }
  for (const t of ["tcpdump", "wrk", "ab", "curl"]) need(t);
  if (process.getuid?.() !== 0) throw new Error("recording the benchmark capture needs root (tcpdump on lo)");
  mkdirSync(OUT_DIR, { recursive: true });
  const tmp = `${path}.tmp`;
  const url = `http://127.0.0.1:${WEB_PORT}`;
  const web = join(HERE, "traffic-web.mjs");
  const servers = [start(process.execPath, [web, String(WEB_PORT), String(WEB_DNS_PORT), "server"])];
  const clients = [];
  const tcpdump = startTcpdump(tmp, `port ${WEB_PORT} or port ${WEB_DNS_PORT}`);
  try {
    await waitPort(WEB_PORT);
    for (let i = 0; i < 100 && !tcpdump.lastStderr().includes("listening on"); i++) await sleep(50);
    log(`recording web traffic: up to ${TARGET_PACKETS} packets (at most ${MAX_SECONDS} s)`);
    // The shell loops pace ab and curl (each run is a burst of new connections, then a pause):
    // monitoring probes and scripts, not a flood.
    const ab = [`${url}/healthz`, `${url}/api/products/42`, `${url}/page/7`, `${url}/static/main.3f9a1c.css`];
    const abLoop = `while :; do for u in ${ab.join(" ")}; do ab -q -n 100 -c 2 "$u" >/dev/null 2>&1; done; sleep 0.2; done`;
    const curlLoop = [
      "i=0; while :; do i=$((i+1));",
      `curl -s -o /dev/null -A 'deploy-check/1.0' ${url}/healthz ${url}/api/inventory/$i ${url}/page/$((i % 200));`,
      `curl -s -o /dev/null -H 'content-type: application/json' -d '{"sku":"SKU-'$i'","qty":2,"note":"restock"}' ${url}/api/orders;`,
      `curl -s -o /dev/null -H 'content-type: text/csv' --data-binary @${web} ${url}/api/imports;`,
      `curl -s -o /dev/null ${url}/reports/$i.pdf;`,
      "done",
    ].join(" ");
    clients.push(
      start("wrk", [
        "-t",
        "1",
        "-c",
        "8",
        "-d",
        `${MAX_SECONDS}s`,
        "-s",
        join(HERE, "wrk-browse.lua"),
        `${url}/`,
      ]),
      start(process.execPath, [web, String(WEB_PORT), String(WEB_DNS_PORT), "clients"]),
      start("sh", ["-c", abLoop], { detached: true }),
      start("sh", ["-c", curlLoop], { detached: true }),
    );
    const deadline = Date.now() + MAX_SECONDS * 1000;
    while (tcpdump.exitCode === null && Date.now() < deadline) await sleep(250);
  } finally {
    for (const c of clients) {
      // The shell loops run in their own process group: end the loop and its ab/curl together.
      if (c.spawnargs[0] === "sh" && c.exitCode === null) {
        try {
          process.kill(-c.pid, "SIGTERM");
        } catch {}
      } else stop(c);
    }
    stop(tcpdump);
    await sleep(500);
    for (const s of servers) stop(s);
  }
  return keepRecording(
    tmp,
    path,
    meta,
    tcpdump,
    "wrk browsers (keep-alive: pages, assets, 304s, XHR, POSTs), node service clients (keep-alive and new connections, trace headers, chunked and 100-continue uploads), ab and curl (new connections), DNS over UDP; one node web server; all on lo",
  );
}

/** 1 M TCP SYNs from distinct 5-tuples, 1 µs apart: every flow open at once. */
export function ensureFlowsCapture({ flows = 1_000_000, force = false } = {}) {
  const path = join(OUT_DIR, `syn-${flows}-flows.pcap`);
  if (!force && existsSync(path)) return { path, packets: flows };
  mkdirSync(OUT_DIR, { recursive: true });
  const fd = openSync(`${path}.tmp`, "w");
  const hdr = Buffer.alloc(24);
  hdr.writeUInt32LE(0xa1b2c3d4, 0);
  hdr.writeUInt16LE(2, 4);
  hdr.writeUInt16LE(4, 6);
  hdr.writeUInt32LE(65535, 16);
  hdr.writeUInt32LE(1, 20); // Ethernet
  writeSync(fd, hdr);
  const REC = 16 + 14 + 20 + 20;
  const per = 8192;
  const chunk = Buffer.alloc(REC * per);
  const t0 = Math.floor(Date.now() / 1000) - 60;
  let used = 0;
  for (let i = 0; i < flows; i++) {
    const o = used * REC;
    const usec = i; // 1 µs apart: 1 M flows in one second
    chunk.writeUInt32LE(t0 + Math.floor(usec / 1e6), o);
    chunk.writeUInt32LE(usec % 1e6, o + 4);
    chunk.writeUInt32LE(54, o + 8);
    chunk.writeUInt32LE(54, o + 12);
    const e = o + 16;
    chunk.fill(0, e, e + 54);
    chunk[e + 5] = 1;
    chunk[e + 11] = 2;
    chunk.writeUInt16BE(0x0800, e + 12);
    const ip = e + 14;
    chunk[ip] = 0x45;
    chunk.writeUInt16BE(40, ip + 2);
    chunk[ip + 8] = 64;
    chunk[ip + 9] = 6;
    // distinct clients 10.x.y.z (one per flow), servers 100 addresses on 4 ports
    chunk.writeUInt32BE(((10 << 24) | (i & 0xffffff)) >>> 0, ip + 12);
    chunk.writeUInt32BE(((172 << 24) | (16 << 16) | (i % 100)) >>> 0, ip + 16);
    const tcp = ip + 20;
    chunk.writeUInt16BE(1024 + (i % 60000), tcp);
    chunk.writeUInt16BE([80, 443, 5432, 6379][i % 4], tcp + 2);
    chunk.writeUInt32BE(i, tcp + 4);
    chunk[tcp + 12] = 0x50;
    chunk[tcp + 13] = 0x02; // SYN
    chunk.writeUInt16BE(65535, tcp + 14);
    if (++used === per) {
      writeSync(fd, chunk, 0, used * REC);
      used = 0;
    }
  }
  if (used > 0) writeSync(fd, chunk, 0, used * REC);
  closeSync(fd);
  renameSync(`${path}.tmp`, path);
  return { path, packets: flows };
}

if (import.meta.url === `file://${process.argv[1]}` && process.argv.includes("--web")) {
  const web = await ensureHttpCapture({ force: process.argv.includes("--force") });
  log(`web capture: ${web.path} (${web.packets} packets)`);
} else if (import.meta.url === `file://${process.argv[1]}`) {
  const force = process.argv.includes("--force");
  const real = await ensureRealCapture({ force });
  log(`real capture: ${real.path} (${real.packets} packets)`);
  const web = await ensureHttpCapture({ force });
  log(`web capture: ${web.path} (${web.packets} packets)`);
  const syn = ensureFlowsCapture({ force });
  log(`flows capture: ${syn.path} (${syn.packets} packets)`);
}
