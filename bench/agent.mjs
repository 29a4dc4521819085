// `npm run bench -- agent`: packets/s of this agent (one core, all cores), tshark -z conv,tcp and
// softflowd -r on the same ≥1 M-packet capture of real loopback traffic, measured in the same
// run, plus the agent's peak RSS with 1 M concurrent flows; then issue 4's L7 line on the
// HTTP-heavy capture (web-1m.pcap): L4 only and L4+L7, each on 1 worker and on all cores, and
// tshark -z http,tree. Prints the tables; with --write also appends the results to
// docs/benchmarks.md.
import { spawnSync } from "node:child_process";
import {
  appendFileSync,
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { cpus, hostname, loadavg, tmpdir, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureFlowsCapture, ensureHttpCapture, ensureRealCapture } from "./make-capture.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, "..");
const DOC = join(ROOT, "docs", "benchmarks.md");
const TARGET_PPS = 1_000_000;
const TARGET_RSS = 1024 ** 3;
/** Alternated runs of each configuration on the HTTP-heavy capture (the best of them is kept). */
const WEB_ROUNDS_DEFAULT = 3;

/**
 * The CPU as /proc/cpuinfo names it, with its family and model: os.cpus() says "AMD EPYC" for
 * hosts whose L4+L7 ratio differed by 0.1 (Zen 4 in session 13, Zen 3 in session 14: a kernel
 * copy of the capture at ~12 against 6.5-8 GB/s), so a table says which one it was.
 */
function cpuLabel() {
  const model = cpus()[0]?.model ?? "unknown CPU";
  try {
    const info = readFileSync("/proc/cpuinfo", "utf8");
    const field = (name) => new RegExp(`^${name}\\s*:\\s*(.+)$`, "m").exec(info)?.[1]?.trim();
    const family = field("cpu family");
    const m = field("model");
    return family && m ? `${model} (family ${family}, model ${m})` : model;
  } catch {
    return model;
  }
}

/** The faster of two agent runs (a, the best so far, may be undefined). */
const fastest = (a, b) => (a === undefined || b.packetsPerSecond > a.packetsPerSecond ? b : a);

function need(tool) {
  const r = spawnSync("sh", ["-c", `command -v ${tool}`]);
  if (r.status !== 0) throw new Error(`${tool} is missing: run scripts/install-system.sh`);
}

/**
 * Runs a command under /usr/bin/time: wall seconds and peak RSS from the kernel's figures.
 * Output goes to files, not pipes: softflowd -r never exits when its stdout is a socket pair.
 */
function timed(cmd, args, opts = {}) {
  const dir = mkdtempSync(join(tmpdir(), "flowplane-timed-"));
  try {
    const outPath = join(dir, "out");
    const errPath = join(dir, "err");
    const out = openSync(outPath, "w");
    const err = openSync(errPath, "w");
    const r = spawnSync("/usr/bin/time", ["-f", "__TIME__ %e %M", cmd, ...args], {
      stdio: ["ignore", out, err],
      ...opts,
    });
    closeSync(out);
    closeSync(err);
    const stdout = readFileSync(outPath, "utf8");
    const stderr = readFileSync(errPath, "utf8");
    const line = stderr.split("\n").find((l) => l.startsWith("__TIME__"));
    if (r.status !== 0 || !line) {
      throw new Error(`${cmd} ${args.join(" ")} failed (exit ${r.status}): ${stderr.slice(-800)}`);
    }
    const [, wall, rssKb] = line.split(" ");
    return { wallS: Number(wall), rssBytes: Number(rssKb) * 1024, stdout, stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function agent(file, workers, outDir, l7 = false) {
  process.stderr.write(
    `bench agent: flowplane agent${l7 ? " with L7" : ""}, ${workers} worker(s) on ${file.split("/").pop()}\n`,
  );
  const t = timed(
    process.execPath,
    ["--import", "tsx", join(HERE, "agent-probe.ts"), file, String(workers), outDir ?? "", l7 ? "l7" : ""],
    {
      cwd: ROOT,
    },
  );
  const line = t.stdout.trim().split("\n").pop();
  const probe = JSON.parse(line);
  if (process.env.FLOWPLANE_BENCH_TRACE)
    process.stderr.write(`TRACE ${workers} ${l7 ? "l7" : "l4"} ${line}\n`);
  return { ...probe, processWallS: t.wallS, processRss: t.rssBytes };
}

/** A table row of an agent run (`agent()`): its in-process rate and time, the process's wall and RSS. */
/** Which row path made the L7 rows (analyze's l7RowPath: "native" = HTTP/1, Redis, PostgreSQL and UDP DNS rows in C). */
function rowPath(r) {
  const path =
    r.l7RowPath === "native"
      ? "HTTP/1, Redis, PostgreSQL and UDP DNS rows in C"
      : `rows in JS: ${r.l7RowPath ?? "?"}`;
  // The row thread found its page-cache writes slow (or FLOWPLANE_L7_DIRECT=1) and went O_DIRECT;
  // it read the capture file itself where the page cache maps cheaply (l7CaptureReads "file").
  const reads = r.l7CaptureReads?.startsWith("file")
    ? `, capture read by the row thread (${r.l7CaptureReads})`
    : "";
  return `${r.l7DirectOutput ? `${path}, files written O_DIRECT` : path}${reads}`;
}

function agentRow(name, r, note) {
  return {
    name,
    pps: r.packetsPerSecond,
    wallS: r.elapsedMs / 1000,
    processWallS: r.processWallS,
    rss: r.processRss,
    note,
  };
}

/** A table row of a reference tool run by `timed()`: its process wall clock is its time. */
function toolRow(name, packets, t, note = "") {
  return { name, pps: packets / t.wallS, wallS: t.wallS, processWallS: t.wallS, rss: t.rssBytes, note };
}

/**
 * Reads a file once so the first contender does not pay for the disk (in blocks: it may be GBs),
 * after dropping what the page cache held of it: every run then reads the file as it is after a
 * read from disk, in the large folios readahead makes. A file just written in small writes (a
 * capture as make-capture leaves it) sits in 4 KiB pages instead, and the page cache's state
 * moved web-1m's L4 run by ~20 % and issue 4's ratio by ~0.1 between sessions (session 16:
 * docs/notes/l7-native-session16.md).
 */
function warm(path) {
  spawnSync("sync", [path]);
  spawnSync("dd", [`if=${path}`, "iflag=nocache", "count=0", "status=none"]);
  const fd = openSync(path, "r");
  const b = Buffer.allocUnsafe(8 << 20);
  try {
    while (readSync(fd, b, 0, b.length, null) > 0);
  } finally {
    closeSync(fd);
  }
}

const fmtPps = (pps) => (pps >= 1e6 ? `${(pps / 1e6).toFixed(2)} M` : `${(pps / 1e3).toFixed(0)} k`);
const fmtMb = (b) => `${(b / 1024 / 1024).toFixed(0)} MB`;

/** Requests counted by `tshark -z http,tree` ("HTTP Request Packets" line). */
function httpRequests(out) {
  const m = /HTTP Request Packets\s+(\d+)/.exec(out);
  return m ? Number(m[1]) : "?";
}

export async function benchAgent(argv = []) {
  const at = argv.indexOf("--rounds");
  const WEB_ROUNDS = at < 0 ? WEB_ROUNDS_DEFAULT : Number(argv[at + 1]);
  if (!Number.isInteger(WEB_ROUNDS) || WEB_ROUNDS < 1)
    throw new Error(`bench agent: --rounds takes a whole number of runs (got ${argv[at + 1]})`);
  for (const t of ["tshark", "softflowd", "tcpdump"]) need(t);
  need("/usr/bin/time");
  const real = await ensureRealCapture();
  const web = await ensureHttpCapture();
  const syn = ensureFlowsCapture();
  const file = real.path;
  const packets = real.packets;
  const ncpu = cpus().length;
  const tmp = mkdtempSync(join(tmpdir(), "flowplane-bench-"));
  const rows = [];
  try {
    process.stderr.write(`bench agent: ${file} (${packets} packets), ${ncpu} cores\n`);
    warm(file);

    const one = agent(file, 1, join(tmp, "w1"));
    rows.push(agentRow("flowplane agent, 1 worker", one, `${one.flows} flows`));
    const all = agent(file, ncpu, join(tmp, `w${ncpu}`));
    rows.push(agentRow(`flowplane agent, ${ncpu} workers`, all, `${all.flows} flows`));

    // Issue 4: the same single-worker run with every L7 parser on, beside tshark's HTTP tree. The
    // best of 3: one run alone once took 2.4 s where the others took 1.25-1.4 (session 13).
    let withL7;
    for (let i = 0; i < 3; i++) withL7 = fastest(withL7, agent(file, 1, join(tmp, "l7"), true));
    rows.push(agentRow("flowplane agent L4+L7, 1 worker", withL7, `${withL7.l7Rows} L7 rows, best of 3`));

    process.stderr.write("bench agent: tshark -z conv,tcp\n");
    const ts = timed("tshark", ["-n", "-q", "-z", "conv,tcp", "-r", file]);
    rows.push(toolRow("tshark -q -z conv,tcp", packets, ts));

    // -c none: with a control socket softflowd 1.1.0 sometimes blocks in accept() before reading
    // the file (seen here, timing-dependent); -d keeps it in the foreground, it exits at EOF.
    process.stderr.write("bench agent: softflowd -r\n");
    const sf = timed("softflowd", [
      "-d",
      "-r",
      file,
      "-m",
      "2000000",
      "-p",
      join(tmp, "sf.pid"),
      "-c",
      "none",
    ]);
    rows.push(toolRow("softflowd -r", packets, sf));

    process.stderr.write("bench agent: tshark -z http,tree\n");
    const th = timed("tshark", ["-n", "-q", "-z", "http,tree", "-r", file]);
    rows.push(toolRow("tshark -q -z http,tree", packets, th));

    const flows = agent(syn.path, 1, undefined);

    // Issue 4's L7 line on the HTTP-heavy capture: L4 only and L4+L7, each on 1 worker and on
    // all cores, and tshark's HTTP tree.
    warm(web.path);
    const webRun = (workers, l7) => {
      const out = join(tmp, `web-${l7 ? "l7" : "l4"}-${workers}`);
      const r = agent(web.path, workers, out, l7);
      rmSync(out, { recursive: true, force: true });
      return r;
    };
    // The ratio is of two noisy figures (a run's rate moves 10-20 % with the machine's load on
    // 2 cores): every configuration runs WEB_ROUNDS times, alternated, and keeps its best run.
    let webL4;
    let webL7;
    let webL4All;
    let webL7All;
    for (let round = 0; round < WEB_ROUNDS; round++) {
      webL4 = fastest(webL4, webRun(1, false));
      webL7 = fastest(webL7, webRun(1, true));
      if (ncpu > 1) {
        webL4All = fastest(webL4All, webRun(ncpu, false));
        webL7All = fastest(webL7All, webRun(ncpu, true));
      }
    }
    if (ncpu <= 1) {
      webL4All = webL4;
      webL7All = webL7;
    }
    process.stderr.write("bench agent: tshark -z http,tree on the web capture\n");
    const webTs = timed("tshark", ["-n", "-q", "-z", "http,tree", "-r", web.path]);
    const webRows = [
      agentRow("flowplane agent, 1 worker", webL4, `${webL4.flows} flows`),
      ...(ncpu > 1
        ? [agentRow(`flowplane agent, ${ncpu} workers`, webL4All, `${webL4All.flows} flows`)]
        : []),
      agentRow("flowplane agent L4+L7, 1 worker", webL7, `${webL7.l7Rows} L7 rows, ${rowPath(webL7)}`),
      ...(ncpu > 1
        ? [
            agentRow(
              `flowplane agent L4+L7, ${ncpu} workers`,
              webL7All,
              `${webL7All.l7Rows} L7 rows, ${rowPath(webL7All)}${webL7All.plan ? `; 1 worker ran: ${webL7All.plan}` : ""}`,
            ),
          ]
        : []),
      toolRow("tshark -q -z http,tree", web.packets, webTs, `${httpRequests(webTs.stdout)} HTTP requests`),
    ];
    const webTsRow = webRows[webRows.length - 1];

    const byName = (n) => rows.find((r) => r.name === n);
    const sfPps = byName("softflowd -r").pps;
    const tsPps = byName("tshark -q -z conv,tcp").pps;
    const lines = [];
    const load = loadavg()
      .map((x) => x.toFixed(2))
      .join(" ");
    lines.push(`capture: ${file} — ${packets} packets of real loopback traffic (${real.traffic})`);
    lines.push("");
    lines.push(
      "| contender | packets/s | time (s) | process wall (s) | peak RSS | vs softflowd | vs tshark | notes |",
    );
    lines.push("|---|---|---|---|---|---|---|---|");
    for (const r of rows) {
      lines.push(
        `| ${r.name} | ${fmtPps(r.pps)} | ${r.wallS.toFixed(2)} | ${r.processWallS.toFixed(2)} | ${fmtMb(r.rss)} | ${(r.pps / sfPps).toFixed(2)}× | ${(r.pps / tsPps).toFixed(1)}× | ${r.note} |`,
      );
    }
    lines.push("");
    const okSf = one.packetsPerSecond >= sfPps;
    const okMin = one.packetsPerSecond >= TARGET_PPS;
    lines.push(
      `target, one core: ≥ softflowd (${fmtPps(sfPps)}) ${okSf ? "MET" : "MISSED"}; ≥ 1 Mpps ${okMin ? "MET" : "MISSED"} (agent ${fmtPps(one.packetsPerSecond)})`,
    );
    lines.push(
      `scaling: ${ncpu} workers / 1 worker = ${(all.packetsPerSecond / one.packetsPerSecond).toFixed(2)}×`,
    );
    lines.push(
      `L7 on this Redis-heavy capture: L4+L7 / L4-only = ${(withL7.packetsPerSecond / one.packetsPerSecond).toFixed(2)} (one L7 row per ${(packets / withL7.l7Rows).toFixed(1)} packets), ${(withL7.packetsPerSecond / byName("tshark -q -z http,tree").pps).toFixed(1)}× tshark -z http,tree`,
    );
    lines.push(
      `peak RSS at ${flows.maxConcurrentFlows} concurrent flows (${syn.path.split("/").pop()}, 1 worker): ${fmtMb(flows.maxRssBytes)} — target < 1 GB ${flows.maxRssBytes < TARGET_RSS ? "MET" : "MISSED"} (${fmtPps(flows.packetsPerSecond)} packets/s, ${flows.evictions} evictions)`,
    );
    lines.push("");
    lines.push(
      `HTTP-heavy capture: ${web.path} — ${web.packets} packets of real web traffic on lo (${web.traffic})`,
    );
    lines.push("");
    lines.push(
      "| contender | packets/s | time (s) | process wall (s) | peak RSS | vs tshark http,tree | notes |",
    );
    lines.push("|---|---|---|---|---|---|---|");
    for (const r of webRows) {
      lines.push(
        `| ${r.name} | ${fmtPps(r.pps)} | ${r.wallS.toFixed(2)} | ${r.processWallS.toFixed(2)} | ${fmtMb(r.rss)} | ${(r.pps / webTsRow.pps).toFixed(1)}× | ${r.note} |`,
      );
    }
    lines.push("");
    // Issue 4's ratio: the agent's best L4+L7 run against its best L4-only run, whichever worker
    // count each was; the 1-worker against 1-worker ratio beside it.
    const bestL4 = fastest(webL4, webL4All);
    const bestL7 = fastest(webL7, webL7All);
    const webRatio = bestL7.packetsPerSecond / bestL4.packetsPerSecond;
    const webRatio1 = webL7.packetsPerSecond / webL4.packetsPerSecond;
    const w = (r) => `${r.workers} worker${r.workers === 1 ? "" : "s"}`;
    lines.push(
      `L7 on the HTTP-heavy capture (issue 4): best L4+L7 / best L4-only = ${fmtPps(bestL7.packetsPerSecond)} (${w(bestL7)}) / ${fmtPps(bestL4.packetsPerSecond)} (${w(bestL4)}) = ${webRatio.toFixed(2)} — target ≥ 0.70 ${webRatio >= 0.7 ? "MET" : "MISSED"} (one L7 row per ${(web.packets / webL7.l7Rows).toFixed(1)} packets); best L4+L7 = ${(bestL7.packetsPerSecond / webTsRow.pps).toFixed(1)}× tshark -z http,tree`,
    );
    lines.push(
      `L7 on the HTTP-heavy capture, 1 worker each: L4+L7 / L4-only = ${webRatio1.toFixed(2)}${ncpu > 1 ? `; ${ncpu} workers each: ${(webL7All.packetsPerSecond / webL4All.packetsPerSecond).toFixed(2)}; L4+L7 ${ncpu} workers / 1 worker = ${(webL7All.packetsPerSecond / webL7.packetsPerSecond).toFixed(2)}×` : ""}`,
    );
    lines.push(
      `load average (1/5/15 min) at the end: ${load} on ${ncpu} cores — a busy machine slows every contender.`,
    );
    lines.push(
      "agent time = in-process analyzeFile (read + decode + flows + metrics + JSONL out); process wall adds Node/tsx start-up. tshark and softflowd: process wall clock.",
    );
    lines.push(`HTTP-heavy capture: each agent row is the best of ${WEB_ROUNDS} alternated runs.`);
    const cpu = cpuLabel();
    lines.push(`machine: ${cpu}, ${ncpu} cores, Node ${process.version}`);
    const table = lines.join("\n");
    process.stdout.write(`${table}\n`);
    const result = {
      date: new Date().toISOString(),
      host: hostname(),
      cpu,
      ncpu,
      memGb: Math.round(totalmem() / 1024 ** 3),
      table,
    };
    writeFileSync(
      join(HERE, "out", "agent-last.json"),
      JSON.stringify(
        { ...result, rows, one, all, withL7, flows, webRows, webL4, webL7, webL4All, webL7All },
        null,
        2,
      ),
    );
    if (argv.includes("--write")) {
      const section = `\n### ${result.date.slice(0, 16).replace("T", " ")} UTC — ${result.host}: ${result.cpu}, ${ncpu} cores, ${result.memGb} GB, Node ${process.version}\n\n${table}\n`;
      if (!existsSync(DOC)) throw new Error(`${DOC} is missing`);
      appendFileSync(DOC, section);
      process.stderr.write(`bench agent: appended to ${DOC}\n`);
    }
    return result;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
