#!/usr/bin/env bash
# Records small captures of real clients talking to the local servers on `lo`, as test fixtures
# for the agent (apps/agent/test/captures/). Needs root (tcpdump on lo), tcpdump, tshark, curl,
# dig, redis-server/redis-cli, psql, mysql, mosquitto_pub and the local services of the machine.
# No external network is touched: every server is on 127.0.0.1 / ::1.
#
# Other processes may talk to the shared services (Postgres, MariaDB, Mosquitto, NATS) while we
# record, so for those every session carries a marker string and only the TCP streams holding it
# are kept (tshark -Y 'tcp.stream in {...}'). HTTP, DNS and Redis use servers of our own on
# private ports, so their captures hold only our traffic.
#
# Usage: bash scripts/record-captures.sh [outdir]   (default apps/agent/test/captures)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${1:-$ROOT/apps/agent/test/captures}"
MARK="flowplane-rec"
mkdir -p "$OUT"
WORK="$(mktemp -d -t flowplane-rec.XXXXXX)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

if [ "$(id -u)" -ne 0 ]; then
  echo "record-captures: must run as root (tcpdump on lo)" >&2
  exit 1
fi
for tool in tcpdump tshark curl dig redis-server redis-cli psql mysql python3 node; do
  command -v "$tool" >/dev/null || { echo "record-captures: missing $tool (run scripts/install-system.sh)" >&2; exit 1; }
done

wait_port() { # host port
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  echo "record-captures: nothing listening on $1:$2" >&2
  exit 1
}

# capture NAME FILTER COMMAND...: tcpdump around one client run. Writes $WORK/NAME.raw.pcap.
capture() {
  local name="$1" filter="$2"
  shift 2
  local raw="$WORK/$name.raw.pcap" log="$WORK/$name.tcpdump.log"
  tcpdump -i lo --immediate-mode -U -s 0 -Z root -w "$raw" "$filter" >"$log" 2>&1 &
  local tpid=$!
  for _ in $(seq 1 100); do grep -q "listening on" "$log" && break; sleep 0.05; done
  "$@" >"$WORK/$name.client.log" 2>&1 || { echo "record-captures: client for $name failed:" >&2; cat "$WORK/$name.client.log" >&2; kill -TERM "$tpid"; exit 1; }
  sleep 0.3 # let the last FIN/ACK land
  kill -TERM "$tpid"
  wait "$tpid" || true
}

# keep NAME [marker]: copy to the output, keeping only TCP streams that carry the marker.
keep() {
  local name="$1" marker="${2:-}"
  local raw="$WORK/$name.raw.pcap" dst="$OUT/$name.pcap"
  if [ -z "$marker" ]; then
    cp "$raw" "$dst"
  else
    local streams
    streams="$(tshark -n -r "$raw" -Y "frame contains \"$marker\"" -T fields -e tcp.stream 2>/dev/null | sort -un | paste -sd, -)"
    if [ -z "$streams" ]; then
      echo "record-captures: no stream with marker in $name" >&2
      exit 1
    fi
    tshark -n -r "$raw" -Y "tcp.stream in {${streams}}" -F pcap -w "$dst" 2>"$WORK/$name.keep.log" || { echo "record-captures: tshark could not filter $name:" >&2; grep -v "^Running as" "$WORK/$name.keep.log" >&2; exit 1; }
  fi
  chmod 644 "$dst"
  echo "record-captures: $name.pcap $(count "$dst") packets, $(stat -c %s "$dst") bytes"
}

count() { tshark -n -r "$1" -T fields -e frame.number 2>/dev/null | wc -l; }

# ---------------------------------------------------------------- HTTP (python http.server)
mkdir -p "$WORK/www"
echo "hello from flowplane" >"$WORK/www/hello.txt"
head -c 60000 /dev/urandom | base64 >"$WORK/www/big.txt" # ~80 KB: many segments, both windows
(cd "$WORK/www" && exec python3 -m http.server 18080 --bind :: >/dev/null 2>&1) &
PIDS+=($!)
wait_port 127.0.0.1 18080
http_clients() {
  curl -sS -o /dev/null http://127.0.0.1:18080/hello.txt
  curl -sS -o /dev/null http://127.0.0.1:18080/missing # 404
  curl -sS -o /dev/null http://127.0.0.1:18080/hello.txt http://127.0.0.1:18080/hello.txt # keep-alive
  curl -sS -o /dev/null -X POST -d '{"a":1}' -H 'content-type: application/json' http://127.0.0.1:18080/api # 501
  curl -sS -o /dev/null 'http://[::1]:18080/hello.txt' # IPv6
  curl -sS -o /dev/null http://127.0.0.1:18080/big.txt
}
capture http-curl "tcp port 18080" http_clients
keep http-curl

# ---------------------------------------------------------------- DNS (a tiny responder in node)
cat >"$WORK/dns.mjs" <<'EOF'
// Minimal authoritative responder for *.test on UDP and TCP port 15353 (IPv4 and IPv6).
import dgram from "node:dgram";
import net from "node:net";
function answer(q) {
  const id = q.readUInt16BE(0);
  let o = 12;
  const labels = [];
  while (q[o] !== 0) { labels.push(q.subarray(o + 1, o + 1 + q[o]).toString()); o += q[o] + 1; }
  const qtype = q.readUInt16BE(o + 1);
  const question = q.subarray(12, o + 5);
  const name = labels.join(".");
  const nx = name.startsWith("nx.") || !name.endsWith(".test");
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x8400 | (q.readUInt16BE(2) & 0x0100) | (nx ? 3 : 0), 2);
  header.writeUInt16BE(1, 4);
  const rrs = [];
  if (!nx && (qtype === 1 || qtype === 28)) {
    const rdata = qtype === 1 ? Buffer.from([10, 1, 2, 3]) : Buffer.from("fd000000000000000000000000000003", "hex");
    const rr = Buffer.alloc(12);
    rr.writeUInt16BE(0xc00c, 0); rr.writeUInt16BE(qtype, 2); rr.writeUInt16BE(1, 4);
    rr.writeUInt32BE(60, 6); rr.writeUInt16BE(rdata.length, 10);
    rrs.push(rr, rdata);
  }
  header.writeUInt16BE(rrs.length / 2, 6);
  return Buffer.concat([header, question, ...rrs]);
}
const udp = dgram.createSocket({ type: "udp6", ipv6Only: false });
udp.on("message", (m, r) => udp.send(answer(m), r.port, r.address));
udp.bind(15353, "::");
net.createServer((s) => {
  let buf = Buffer.alloc(0);
  s.on("data", (d) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
      const a = answer(buf.subarray(2, 2 + buf.readUInt16BE(0)));
      buf = buf.subarray(2 + buf.readUInt16BE(0));
      const len = Buffer.alloc(2); len.writeUInt16BE(a.length);
      s.write(Buffer.concat([len, a]));
    }
  });
  s.on("error", () => {});
}).listen(15353, "::");
EOF
node "$WORK/dns.mjs" &
PIDS+=($!)
wait_port 127.0.0.1 15353
dns_clients() {
  dig +short +tries=1 +time=2 -p 15353 @127.0.0.1 www.flowplane.test A
  dig +short +tries=1 +time=2 -p 15353 @127.0.0.1 www.flowplane.test AAAA
  dig +short +tries=1 +time=2 -p 15353 @127.0.0.1 nx.flowplane.test A
  dig +short +tries=1 +time=2 -p 15353 @::1 api.flowplane.test A
  dig +short +tries=1 +time=2 +tcp -p 15353 @127.0.0.1 tcp.flowplane.test A
}
capture dns-dig "port 15353" dns_clients
keep dns-dig

# ---------------------------------------------------------------- Redis (a private redis-server)
redis-server --port 16379 --bind 127.0.0.1 --save "" --appendonly no --daemonize no >/dev/null 2>&1 &
PIDS+=($!)
wait_port 127.0.0.1 16379
redis_clients() {
  # one connection per command, then one pipelined session (redis-cli reading commands from a
  # pipe in its normal mode first fetches COMMAND DOCS: ~150 KB we do not need)
  redis-cli -p 16379 PING
  redis-cli -p 16379 SET flowplane:k hello
  redis-cli -p 16379 GET flowplane:k
  redis-cli -p 16379 GET flowplane:missing
  printf 'INCR flowplane:n\nLPUSH flowplane:l a b c\nLRANGE flowplane:l 0 -1\nHGETALL flowplane:k\nDEL flowplane:k flowplane:n flowplane:l\n' | redis-cli -p 16379 --pipe || true # exits 1 on the WRONGTYPE reply we asked for
}
capture redis-cli "tcp port 16379" redis_clients
keep redis-cli

# ---------------------------------------------------------------- PostgreSQL (shared server)
pg_clients() {
  PGSSLMODE=disable PGGSSENCMODE=disable PGAPPNAME="$MARK" psql -X -q -h 127.0.0.1 -U postgres -d postgres \
    -c "select 1 as one, '$MARK' as marker" \
    -c "create temp table t (id int primary key, name text)" \
    -c "insert into t values (1, 'a'), (2, 'b')" \
    -c "select * from t order by id" \
    -c "select * from no_such_table" || true
}
capture pgsql-psql "tcp port 5432" pg_clients
keep pgsql-psql "$MARK"

# ---------------------------------------------------------------- MariaDB (shared server)
mysql_clients() {
  mysql --skip-ssl -h 127.0.0.1 -P 3306 -u root -e "select 1 as one, '$MARK' as marker; select version(); create temporary table test.t (id int); insert into test.t values (1),(2); select * from test.t; select * from no_such_db.t;" || true
}
mysql -h 127.0.0.1 -u root --skip-ssl -e "create database if not exists test" >/dev/null
capture mysql-client "tcp port 3306" mysql_clients
keep mysql-client "$MARK"

# ---------------------------------------------------------------- MQTT (shared Mosquitto), optional
if command -v mosquitto_pub >/dev/null; then
  mqtt_clients() {
    mosquitto_pub -h 127.0.0.1 -p 1883 -i "$MARK-pub" -t "$MARK/t" -m "hello" -q 1
    mosquitto_pub -h 127.0.0.1 -p 1883 -i "$MARK-pub2" -t "$MARK/t" -m "world" -q 0
  }
  capture mqtt-mosquitto "tcp port 1883" mqtt_clients
  keep mqtt-mosquitto "$MARK"
fi

# ---------------------------------------------------------------- NATS (shared server, text protocol from bash)
nats_client() {
  exec 3<>/dev/tcp/127.0.0.1/4222
  read -r -t 2 _info <&3
  printf 'CONNECT {"verbose":false,"name":"%s"}\r\nSUB %s.t 1\r\nPUB %s.t 5\r\nhello\r\nPING\r\n' "$MARK" "$MARK" "$MARK" >&3
  sleep 0.3
  exec 3>&-
}
capture nats-bash "tcp port 4222" nats_client
keep nats-bash "$MARK"

# ---------------------------------------------------------------- manifest
{
  echo "# Recorded captures (fixtures for the agent's correctness tests)"
  echo
  echo "Recorded by \`scripts/record-captures.sh\` on $(date -u +%Y-%m-%d) ($(uname -sr), $(tcpdump --version 2>&1 | head -1)):"
  echo "tcpdump on \`lo\` (link type Ethernet as Linux gives lo, snaplen 0) around real clients talking to"
  echo "local servers, nothing external. Captures of shared servers (Postgres, MariaDB, Mosquitto,"
  echo "NATS) keep only the TCP streams carrying the marker \`$MARK\`; HTTP, DNS and Redis use private"
  echo "servers on their own ports (python http.server :18080, a node DNS responder :15353, redis-server :16379)."
  echo "Re-recording changes ports, times and byte counts: tests compare against tshark on the file, never"
  echo "against numbers written here."
  echo
  echo "| file | packets | bytes | what |"
  echo "|---|---|---|---|"
  for f in http-curl dns-dig redis-cli pgsql-psql mysql-client mqtt-mosquitto nats-bash; do
    [ -f "$OUT/$f.pcap" ] || continue
    case $f in
      http-curl) what="curl: GET 200, GET 404, 2 GETs on one keep-alive connection, POST (501 from http.server), GET over IPv6 ::1, an ~80 KB GET" ;;
      dns-dig) what="dig: A, AAAA, NXDOMAIN, A over IPv6 ::1 (UDP), A over TCP" ;;
      redis-cli) what="redis-cli: PING, SET, GET, GET of a missing key (one connection each); then one --pipe session: INCR, LPUSH, LRANGE, HGETALL on a string (WRONGTYPE error), DEL, ECHO" ;;
      pgsql-psql) what="psql (SSL off): select, create temp table, insert, select, select from a missing table (error)" ;;
      mysql-client) what="mysql client (SSL off): select, version(), temporary table, insert, select, select from a missing db (error)" ;;
      mqtt-mosquitto) what="mosquitto_pub: CONNECT, PUBLISH QoS 1 (PUBACK), CONNECT, PUBLISH QoS 0, DISCONNECT" ;;
      nats-bash) what="NATS text protocol from bash /dev/tcp: INFO, CONNECT, SUB, PUB, MSG, PING/PONG" ;;
    esac
    echo "| $f.pcap | $(count "$OUT/$f.pcap") | $(stat -c %s "$OUT/$f.pcap") | $what |"
  done
  echo
  echo "tshark needs decode-as on the private ports: redis-cli.pcap \`-d tcp.port==16379,resp\`,"
  echo "dns-dig.pcap \`-d udp.port==15353,dns -d tcp.port==15353,dns\`. tshark 4.0 has no NATS dissector."
  echo "Files live in apps/agent/test/captures/; a test there checks each is non-empty, under 200 KB and"
  echo "readable by the tshark harness."
} >"$OUT/MANIFEST.md"
echo "record-captures: wrote $OUT/MANIFEST.md"
