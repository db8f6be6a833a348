#!/usr/bin/env bash
# End-to-end MLLP throughput of productions/mllp-relay.yaml, beside the figures that bound
# it on the same machine in the same run, printed as one markdown table with ratios.
#
#   benches/mllp_relay.sh                      # 10 s per row
#   BENCH_SECONDS=30 BENCH_OUT=bench.md benches/mllp_relay.sh
#
# Rows, each at every connection count in BENCH_CONNECTIONS (default "1 16"):
#   fdatasync bound    append 1 KiB to a file and fdatasync it, in a loop, in the folder
#                      the stores use: how many durable writes per second the disk allows
#   load tool direct   `ferry load send` against `ferry load sink`: the tool's own ceiling
#   medplum direct     @medplum/hl7 client against @medplum/hl7 server (peers/medplum_load.mjs)
#   ferry fsync        load send -> Ferry mllp-relay (durability fsync) -> load sink
#   ferry os           the same with FERRY_DURABILITY=os
# See benches/README.md for what every column means.
#
# Environment: BENCH_SECONDS (per row, default 10), BENCH_CONNECTIONS (default "1 16"),
# BENCH_OUT (also write the table there), BENCH_DRAIN_SECONDS (once the sender stops, how
# long Ferry may go without delivering to the sink before the rest counts as lost, default
# 120), BENCH_KEEP=1 (keep the work folder with every log), TMPDIR (where stores and the
# fdatasync file live: put it on the disk you want measured), CARGO_TARGET_DIR (as for
# cargo).
#
# Every process listens on 127.0.0.1 port 0 and the script reads the port it was given.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PRODUCTION=$ROOT/productions/mllp-relay.yaml
MEDPLUM_LOAD=$ROOT/benches/peers/medplum_load.mjs
NODE_PEERS=$ROOT/tests/peers/node

RUN_SECONDS=${BENCH_SECONDS:-10}
CONNECTION_COUNTS=${BENCH_CONNECTIONS:-"1 16"}
DRAIN_SECONDS=${BENCH_DRAIN_SECONDS:-120}
# How long a process may take to announce its port before the run is abandoned.
READY_SECONDS=60
FSYNC_SECONDS=3

# ---------------------------------------------------------------------------------------
# Plumbing

die() {
  echo "mllp_relay.sh: $*" >&2
  exit 1
}

for tool in cargo jq python3 node; do
  command -v "$tool" >/dev/null || die "needs '$tool' on PATH"
done
[[ -d $NODE_PEERS/node_modules/@medplum/hl7 ]] ||
  die "@medplum/hl7 is not installed: run 'cd $NODE_PEERS && npm ci'"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ferry-bench.XXXXXX")
ROWS=$WORK/rows.tsv
: >"$ROWS"
STARTED_PIDS=()

cleanup() {
  local pid
  for pid in "${STARTED_PIDS[@]+"${STARTED_PIDS[@]}"}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  if [[ ${BENCH_KEEP:-0} == 1 ]]; then
    echo "logs kept in $WORK" >&2
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT

# start NAME COMMAND...: runs COMMAND in the background, stdout to $WORK/NAME.out and
# stderr to $WORK/NAME.err; its pid is left in STARTED.
start() {
  local name=$1
  shift
  "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  STARTED=$!
  STARTED_PIDS+=("$STARTED")
}

# stop PID: SIGTERM, then waits for it; fails the run if it exits with an error.
stop() {
  local pid=$1 status=0 kept=() other
  kill -TERM "$pid"
  wait "$pid" || status=$?
  # Forgotten once reaped, so that cleanup never signals a pid the system has reused.
  for other in "${STARTED_PIDS[@]+"${STARTED_PIDS[@]}"}"; do
    [[ $other == "$pid" ]] || kept+=("$other")
  done
  STARTED_PIDS=("${kept[@]+"${kept[@]}"}")
  [[ $status == 0 ]] || die "process $pid exited with status $status on SIGTERM (logs: $WORK)"
}

# await_output PID FILE COMMAND...: runs COMMAND (which reads FILE) until it prints
# something, and prints that; fails if PID exits first or READY_SECONDS pass.
await_output() {
  local pid=$1 file=$2 found deadline=$((SECONDS + READY_SECONDS))
  shift 2
  while true; do
    found=$("$@" <"$file" || true)
    if [[ -n $found ]]; then
      echo "$found"
      return
    fi
    kill -0 "$pid" 2>/dev/null || die "process $pid ended before it was ready: $(tail -n 5 "$file")"
    ((SECONDS < deadline)) || die "process $pid not ready in ${READY_SECONDS}s (log: $file)"
    sleep 0.05
  done
}

# The `listening HOST:PORT` line of `ferry load sink`.
sink_address() { awk '/^listening /{ print $2; exit }'; }
# The `listening` log event of Ferry's item `MLLP in` (--log-format json).
ferry_address() {
  jq -R -r 'fromjson? | select(.fields.message == "listening" and .fields.item == "MLLP in")
            | .fields.addr' | head -n 1
}
# The listening event of peers/medplum_load.mjs server.
medplum_port() { jq -R -r 'fromjson? | select(.event == "listening") | .port' | head -n 1; }

# CPU time (user + system) of a running process, in seconds.
CLOCK_TICKS=$(getconf CLK_TCK)
cpu_seconds() { awk -v hz="$CLOCK_TICKS" '{ print ($14 + $15) / hz }' "/proc/$1/stat"; }
# reaped_cpu_seconds VAR: sets VAR to the CPU time of every child this shell has reaped so
# far (with their own reaped children), in seconds; the difference across a foreground
# command is what that command used. `times` must run in this shell, not in a $(...)
# subshell, whose children are its own.
reaped_cpu_seconds() {
  times >"$WORK/times"
  printf -v "$1" '%s' "$(awk 'NR == 2 {
    for (i = 1; i <= 2; i++) { split($i, t, /[ms]/); total += t[1] * 60 + t[2] }
    print total }' "$WORK/times")"
}
# cores_used SECONDS_BEFORE SECONDS_AFTER WALL_SECONDS: average cores busy over the run.
cores_used() { awk -v a="$1" -v b="$2" -v s="$3" 'BEGIN { printf "%.2f", (b - a) / s }'; }

# The last line of a file, which must be a JSON object (the summary of the tools here).
summary() {
  local line
  line=$(tail -n 1 "$1")
  jq -e 'type == "object"' >/dev/null 2>&1 <<<"$line" || die "no JSON summary in $1: $line"
  echo "$line"
}

# field JSON KEY: one value of a summary; null as "-".
field() { jq -r --arg key "$2" '.[$key] // "-"' <<<"$1"; }

# The received count of the sink's latest progress line ("received 12,345  ...").
sink_received() { awk '/^received /{ n = $2 } END { gsub(",", "", n); print n + 0 }' "$1"; }

# One table row, tab-separated, in the order render() reads.
# row SCENARIO DURABILITY POOLS CONNECTIONS SEND_JSON SINK_JSON|"" CPU
row() {
  local send=$5 sink=$6 sent received fifo lost dups delivered missing
  sent=$(field "$send" sent)
  if [[ -n $sink ]]; then
    received=$(field "$sink" received)
    dups=$(field "$sink" duplicates)
    # What the sink never saw is a loss too, though no later arrival revealed the gap.
    missing=$((sent - (received - dups)))
    ((missing > 0)) || missing=0
    lost=$(($(field "$sink" losses) + missing))
    if [[ $(field "$sink" out_of_order) == 0 && $lost == 0 ]]; then fifo=yes; else fifo=NO; fi
    delivered=$(field "$sink" msgs_per_s)
  else
    fifo=-
    lost=-
    dups=-
    delivered=-
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
    "$1" "$2" "$3" "$4" "$(field "$send" msgs_per_s)" "$(field "$send" p50_ms)" \
    "$(field "$send" p99_ms)" "$(field "$send" p999_ms)" "$(field "$send" errors)" \
    "$fifo" "$lost" "$dups" "$delivered" "$7" >>"$ROWS"
}

# ---------------------------------------------------------------------------------------
# The production's pool sizes, read from the YAML so the table cannot disagree with it

# item_setting ITEM KEY DEFAULT: the first `KEY:` inside the item named ITEM.
item_setting() {
  awk -v item="$1" -v key="$2" -v fallback="$3" '
    /^  - name: / { inside = (substr($0, index($0, ":") + 2) == item); next }
    inside && $1 == key ":" { print $2; found = 1; exit }
    END { if (!found) print fallback }' "$PRODUCTION"
}

INBOUND_MAX=$(item_setting "MLLP in" max_connections 256)
ROUTER_POOL=$(item_setting "Relay router" pool 1)
OUTBOUND_POOL=$(item_setting "MLLP out" pool 1)
FERRY_POOLS="in max_connections $INBOUND_MAX, router pool $ROUTER_POOL, out pool $OUTBOUND_POOL"

# ---------------------------------------------------------------------------------------
# Scenarios

# Appends 1 KiB and fdatasyncs, one after the other, for FSYNC_SECONDS; prints ops/s.
fdatasync_bound() {
  python3 - "$WORK/fdatasync.bin" "$FSYNC_SECONDS" <<'PY'
import os, sys, time

path, seconds = sys.argv[1], float(sys.argv[2])
block = b"x" * 1024
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
count = 0
started = time.monotonic()
while (elapsed := time.monotonic() - started) < seconds:
    os.write(fd, block)
    os.fdatasync(fd)
    count += 1
os.close(fd)
os.unlink(path)
print(f"{count / elapsed:.1f}")
PY
}

# load_send NAME ADDRESS CONNECTIONS: runs the sender to the end, prints its summary.
load_send() {
  local status=0
  "$FERRY" load send --to "$2" --connections "$3" --seconds "$RUN_SECONDS" --json --quiet \
    >"$WORK/$1.out" 2>"$WORK/$1.err" || status=$?
  # Exit 1 is a run with failed messages: still a result, with its errors counted.
  ((status <= 1)) || die "load send failed ($status): $(tail -n 3 "$WORK/$1.err")"
  summary "$WORK/$1.out"
}

start_sink() {
  start "$1" "$FERRY" load sink --listen 127.0.0.1:0 --json
  SINK_PID=$STARTED
  SINK_ADDRESS=$(await_output "$SINK_PID" "$WORK/$1.err" sink_address)
}

run_load_direct() {
  local connections=$1 name=direct-$1 send sink seconds cpu0 cpu1 sink0 sink1
  start_sink "$name-sink"

  reaped_cpu_seconds cpu0
  sink0=$(cpu_seconds "$SINK_PID")
  send=$(load_send "$name-send" "$SINK_ADDRESS" "$connections")
  sink1=$(cpu_seconds "$SINK_PID")
  reaped_cpu_seconds cpu1

  stop "$SINK_PID"
  sink=$(summary "$WORK/$name-sink.out")
  seconds=$(field "$send" seconds)
  row "load tool direct" "none (no store)" "sink: one task per connection" "$connections" \
    "$send" "$sink" \
    "$(cores_used "$cpu0" "$cpu1" "$seconds") / $(cores_used "$sink0" "$sink1" "$seconds") / -"
}

run_medplum_direct() {
  local connections=$1 name=medplum-$1 server port send seconds status=0 cpu0 cpu1 srv0 srv1
  start "$name-server" node "$MEDPLUM_LOAD" server
  server=$STARTED
  port=$(await_output "$server" "$WORK/$name-server.out" medplum_port)

  reaped_cpu_seconds cpu0
  srv0=$(cpu_seconds "$server")
  node "$MEDPLUM_LOAD" send "$port" "$connections" "$RUN_SECONDS" \
    >"$WORK/$name-send.out" 2>"$WORK/$name-send.err" || status=$?
  srv1=$(cpu_seconds "$server")
  reaped_cpu_seconds cpu1
  ((status <= 1)) || die "medplum sender failed ($status): $(tail -n 3 "$WORK/$name-send.err")"
  send=$(summary "$WORK/$name-send.out")

  stop "$server"
  seconds=$(field "$send" seconds)
  row "medplum direct" "none (no store)" "server: one node process" "$connections" "$send" "" \
    "$(cores_used "$cpu0" "$cpu1" "$seconds") / $(cores_used "$srv0" "$srv1" "$seconds") / -"
}

# Waits until the sink has every message the sender had acknowledged, or the drain time
# passes with the count standing still.
drain_into_sink() {
  local sink_err=$1 sent=$2 last=-1 now still_since=$SECONDS
  while true; do
    now=$(sink_received "$sink_err")
    ((now >= sent)) && return
    if ((now != last)); then
      last=$now
      still_since=$SECONDS
    fi
    ((SECONDS - still_since < DRAIN_SECONDS)) || {
      echo "mllp_relay.sh: sink stuck at $now of $sent messages; counted as lost" >&2
      return
    }
    sleep 0.2
  done
}

run_ferry() {
  local durability=$1 connections=$2 name=ferry-$1-$2 ferry address send sink seconds
  local cpu cpu0 cpu1 ferry0 ferry1 sink0 sink1
  start_sink "$name-sink"
  start "$name" env FERRY_DATA="$WORK/$name-store" FERRY_MLLP_IN=127.0.0.1:0 \
    FERRY_MLLP_OUT="$SINK_ADDRESS" FERRY_DURABILITY="$durability" \
    FERRY_ADMIN_HTTP=127.0.0.1:0 FERRY_ADMIN_GRPC=127.0.0.1:0 \
    "$FERRY" --log-format json run "$PRODUCTION"
  ferry=$STARTED
  address=$(await_output "$ferry" "$WORK/$name.err" ferry_address)

  reaped_cpu_seconds cpu0
  ferry0=$(cpu_seconds "$ferry")
  sink0=$(cpu_seconds "$SINK_PID")
  send=$(load_send "$name-send" "$address" "$connections")
  sink1=$(cpu_seconds "$SINK_PID")
  ferry1=$(cpu_seconds "$ferry")
  reaped_cpu_seconds cpu1

  drain_into_sink "$WORK/$name-sink.err" "$(field "$send" sent)"
  stop "$ferry"
  stop "$SINK_PID"
  sink=$(summary "$WORK/$name-sink.out")
  seconds=$(field "$send" seconds)
  cpu="$(cores_used "$cpu0" "$cpu1" "$seconds") / $(cores_used "$ferry0" "$ferry1" "$seconds")"
  cpu+=" / $(cores_used "$sink0" "$sink1" "$seconds")"
  row "ferry mllp-relay" "$durability" "$FERRY_POOLS" "$connections" "$send" "$sink" "$cpu"
  rm -rf "$WORK/$name-store"
}

# ---------------------------------------------------------------------------------------
# The table

# ratio A B: A / B with two decimals, "-" when either is missing.
ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN {
    if (b + 0 > 0 && a != "-") printf "%.2f", a / b; else print "-" }'
}

render() {
  local bound=$1
  echo "| scenario | durability | pools | conns | msgs/s | p50 ms | p99 ms | p99.9 ms | errors" \
    "| FIFO kept | lost | dups | delivered msgs/s | CPU cores send / server / sink" \
    "| vs fdatasync bound | vs medplum direct | vs load tool direct |"
  echo "|---|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|"
  echo "| fdatasync bound | fdatasync per 1 KiB append | - | 1 | $bound | - | - | - | - | - | - |" \
    "- | - | - | 1.00 | - | - |"
  local scenario durability pools conns rate p50 p99 p999 errors fifo lost dups delivered cpu
  while IFS=$'\t' read -r scenario durability pools conns rate p50 p99 p999 errors fifo lost \
    dups delivered cpu; do
    local medplum direct vs_bound
    medplum=$(awk -F'\t' -v c="$conns" '$1 == "medplum direct" && $4 == c { print $5 }' "$ROWS")
    direct=$(awk -F'\t' -v c="$conns" '$1 == "load tool direct" && $4 == c { print $5 }' "$ROWS")
    # The disk bound only speaks to rows that write to the disk.
    if [[ $durability == none* ]]; then vs_bound=-; else vs_bound=$(ratio "$rate" "$bound"); fi
    echo "| $scenario | $durability | $pools | $conns | $rate | $p50 | $p99 | $p999 | $errors" \
      "| $fifo | $lost | $dups | $delivered | $cpu | $vs_bound" \
      "| $(ratio "$rate" "${medplum:-0}") | $(ratio "$rate" "${direct:-0}") |"
  done <"$ROWS"
}

# ---------------------------------------------------------------------------------------
# The run

echo "building ferry (release)..." >&2
(cd "$ROOT" && cargo build --release --quiet --bin ferry)
TARGET_DIR=$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps | jq -r .target_directory)
FERRY=$TARGET_DIR/release/ferry

{
  echo "# mllp-relay bench"
  echo
  echo "- machine: $(nproc) cores ($(uname -m), $(awk -F': ' '/^model name/{ print $2; exit }' \
    /proc/cpuinfo)), $(awk '/^MemTotal/{ printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
  echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "- load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- store and fdatasync folder: $WORK ($(df -T "$WORK" | awk 'NR == 2 { print $2 }'))"
  echo "- ${RUN_SECONDS}s per row; ferry $("$FERRY" --version | awk '{ print $2 }')," \
    "node $(node --version), @medplum/hl7 $(jq -r .version \
    "$NODE_PEERS/node_modules/@medplum/hl7/package.json")"
} >"$WORK/header.md"
cat "$WORK/header.md" >&2

echo "fdatasync bound..." >&2
BOUND=$(fdatasync_bound)
for connections in $CONNECTION_COUNTS; do
  echo "load tool direct, $connections connections..." >&2
  run_load_direct "$connections"
  echo "medplum direct, $connections connections..." >&2
  run_medplum_direct "$connections"
  for durability in fsync os; do
    echo "ferry $durability, $connections connections..." >&2
    run_ferry "$durability" "$connections"
  done
done

{
  cat "$WORK/header.md"
  echo "- load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  render "$BOUND"
} >"$WORK/table.md"
cat "$WORK/table.md"
if [[ -n ${BENCH_OUT:-} ]]; then
  cp "$WORK/table.md" "$BENCH_OUT"
fi
