#!/usr/bin/env bash
# Records the L7-only fixtures beside this script (run as root, services from stack.md running).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cap() { # name filter command...
  local name=$1 filter=$2; shift 2
  tcpdump -i lo -s 0 -U -w "$here/$name" "$filter" >/dev/null 2>&1 &
  local pid=$!
  sleep 1
  "$@"
  sleep 1
  kill "$pid"; wait "$pid" 2>/dev/null || true
}
cap amqp-rabbitmq.pcap "tcp port 5672" python3 "$here/amqp_client.py"
