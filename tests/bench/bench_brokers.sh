#!/usr/bin/env bash
# Issue 8, point 2: gom's workload through the brokers a user might pick
# instead (RabbitMQ classic and quorum queues, NATS JetStream, Mosquitto),
# each started here from Debian's packages in a temporary folder, listening
# on loopback only on free ports, and stopped at the end (also on failure).
#
#   tests/bench/bench_brokers.sh [--quick] [--publishers P] [--messages N]
#   tests/bench/bench_brokers.sh --build-only   its load program only (the
#                                               poor link's MQTT client too)
#
# Needs deploy/install-deps.sh --bench. Builds tests/bench/bench_brokers.c
# in build-brokers (RelWithDebInfo) when needed. For each broker: the load
# (P publishers, each its own connection, N messages in all, at most 64
# unacknowledged per publisher), then the broker's CPU seconds during the
# load and the peak memory of its process tree (sum of VmHWM), then a short
# run of 300 messages one at a time (window 1) under strace counting the
# broker's fsync/fdatasync calls, which is what the durability line states.
# Prints `figure NAME VALUE UNIT` lines (durability_NAME_syncs_per_ack: the
# syncs counted, divided by the messages) and `# durability NAME ...`
# comment lines (tests/bench/syncs.sh) on stdout, progress on stderr. --quick: 10,000
# messages a broker and a probe of 100 (about half a minute in all); the
# default is 200,000 and 300.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
publishers=8
messages=200000
probe_messages=300
quick=0
build_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1; messages=10000; probe_messages=100 ;;
    --build-only) build_only=1 ;;
    --publishers) publishers=$2; shift ;;
    --messages) messages=$2; shift ;;
    *) echo "usage: $0 [--quick] [--publishers P] [--messages N] [--build-only]" >&2; exit 2 ;;
  esac
  shift
done
say() { echo "bench_brokers: [${SECONDS}s] $*" >&2; }

for cmd in rabbitmq-server nats-server mosquitto epmd strace python3 cmake; do
  command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/lib/rabbitmq/bin/$cmd" ] || {
    say "$cmd is missing: run deploy/install-deps.sh --bench"; exit 2; }
done

BUILD=${BENCH_BROKERS_BUILD:-$ROOT/build-brokers}
BIN=$BUILD/tests/bench_brokers
if [ ! -x "$BIN" ] || [ "$ROOT/tests/bench/bench_brokers.c" -nt "$BIN" ]; then
  say "building $BIN"
  timeout 300 cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    >/dev/null
  timeout 600 cmake --build "$BUILD" --target bench_brokers -j2 >/dev/null
fi
[ -x "$BIN" ] || { say "bench_brokers was not built (client libraries?)"; exit 2; }
[ $build_only -eq 0 ] || exit 0

TMP=$(mktemp -d /tmp/gom-bench-brokers.XXXXXX)
SESSIONS=()     # one session (setsid) per broker: its whole process tree
# shellcheck source=tests/bench/syncs.sh
. "$ROOT/tests/bench/syncs.sh"

session_pids() {  # every live process of session $1
  ps -e -o pid=,sid=,stat= | awk -v s="$1" '$2 == s && $3 !~ /^Z/ { print $1 }'
}

stop_session() {  # SIGTERM the session, SIGKILL what is left after 5 s
  local sid=$1
  kill -TERM -- "-$sid" 2>/dev/null || true
  for sid_pid in $(session_pids "$sid"); do kill -TERM "$sid_pid" 2>/dev/null || true; done
  local deadline=$((SECONDS + 5))
  while [ $SECONDS -lt $deadline ]; do
    [ -z "$(session_pids "$sid")" ] && break
    sleep 0.2
  done
  for sid_pid in $(session_pids "$sid"); do kill -KILL "$sid_pid" 2>/dev/null || true; done
  wait "$sid" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  [ -z "$STRACE_PID" ] || kill -INT "$STRACE_PID" 2>/dev/null || true
  trap - EXIT INT TERM
  for sid in "${SESSIONS[@]}"; do stop_session "$sid"; done
  rm -rf "$TMP"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() {  # port, seconds: until something accepts on 127.0.0.1:port
  local port=$1 deadline=$((SECONDS + $2))
  while [ $SECONDS -lt $deadline ]; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  return 1
}

cpu_ticks() {  # utime+stime (+ those of reaped children) over session $1
  local total=0 pid f
  for pid in $(session_pids "$1"); do
    f=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null) || continue
    # After the command name: field 3 is state, so utime is the 12th here.
    total=$((total + $(echo "$f" | awk '{ print $12 + $13 + $14 + $15 }')))
  done
  echo $total
}

peak_kib() {  # sum of VmHWM over session $1
  local total=0 pid v
  for pid in $(session_pids "$1"); do
    v=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null) || continue
    total=$((total + ${v:-0}))
  done
  echo $total
}

listeners() {  # what session $1 listens on, for the log
  local pids
  pids=$(session_pids "$1" | paste -sd'|')
  ss -ltnp 2>/dev/null | grep -E "pid=($pids)," | awk '{ print $4 }' | sort -u | paste -sd' '
}

HZ=$(getconf CLK_TCK)

# Runs the load against the broker in session $1 (name $2, then the
# bench_brokers arguments), prints its figures, its CPU and peak memory.
run_load() {
  local sid=$1 name=$2; shift 2
  local t0 t1 out rc=0
  say "$name: listening on $(listeners "$sid")"
  t0=$(cpu_ticks "$sid")
  out=$(timeout 900 "$BIN" "$@" --name "$name" --publishers "$publishers" \
          --messages "$messages" --timeout 840) || rc=$?
  t1=$(cpu_ticks "$sid")
  echo "$out" | grep -v '^figure payload_bytes' | grep '^figure' || true
  echo "$out" | grep -E '^(result|check)' >&2 || true
  [ $rc -eq 0 ] || { say "$name: the load failed (exit $rc)"; FAILED=1; }
  awk -v t=$((t1 - t0)) -v hz="$HZ" -v n="$name" \
    'BEGIN { printf "figure cpu_%s %.2f s\n", n, t / hz }'
  awk -v k="$(peak_kib "$sid")" -v n="$name" \
    'BEGIN { printf "figure peak_mem_%s %.0f MiB\n", n, k / 1024 }'
}

# Counts the syncs of session $1 while 300 messages go one at a time
# (window 1) and states them as the durability of $2.
run_probe() {
  local sid=$1 name=$2; shift 2
  local rc=0
  # shellcheck disable=SC2046
  strace_syncs "$TMP/strace-$name" $(session_pids "$sid")
  timeout 120 "$BIN" "$@" --name "${name}_probe" --publishers 1 --window 1 \
    --messages $probe_messages --timeout 100 >"$TMP/probe-$name" || rc=$?
  strace_stop
  sync_report "$name" "$TMP/strace-$name" "$probe_messages" "$rc"
}

FAILED=0
say "$(nproc) cores; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

# --- RabbitMQ: one node per queue type, its own epmd, all on loopback ------
start_rabbit() {  # $1 name: prints the session id, node port in $RPORT
  local d="$TMP/$1" epmd_port dist_port
  mkdir -p "$d/home" "$d/mnesia" "$d/log"
  RPORT=$(free_port); epmd_port=$(free_port); dist_port=$(free_port)
  echo "[]." >"$d/enabled_plugins"
  : >"$d/rabbitmq-env.conf"
  cat >"$d/rabbitmq.conf" <<EOF
listeners.tcp.1 = 127.0.0.1:$RPORT
EOF
  (
    export HOME="$d/home" RABBITMQ_CONF_ENV_FILE="$d/rabbitmq-env.conf" \
      RABBITMQ_NODENAME="gombench$RPORT@localhost" \
      RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT="$RPORT" \
      RABBITMQ_DIST_PORT="$dist_port" RABBITMQ_MNESIA_BASE="$d/mnesia" \
      RABBITMQ_LOG_BASE="$d/log" RABBITMQ_CONFIG_FILE="$d/rabbitmq.conf" \
      RABBITMQ_ENABLED_PLUGINS_FILE="$d/enabled_plugins" \
      ERL_EPMD_ADDRESS=127.0.0.1 ERL_EPMD_PORT="$epmd_port" \
      RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
    cd "$d"
    exec setsid bash -c "epmd -address 127.0.0.1 -port $epmd_port & \
      exec /usr/lib/rabbitmq/bin/rabbitmq-server" >"$d/server.log" 2>&1
  ) &
  SID=$!
  SESSIONS+=("$SID")
}

# The full run boots a node for each queue type, so that neither measures
# beside what the other left; --quick boots one (a boot is about 7 s) and
# measures both queue types on it, one after the other (the load declares
# its queue afresh).
if [ $quick -eq 1 ]; then rabbit_nodes="classic,quorum"; else rabbit_nodes="classic quorum"; fi
for node in $rabbit_nodes; do
  SID=""
  for qt in ${node//,/ }; do
    name=rabbitmq_$qt
    if [ -z "$SID" ]; then
      start_rabbit "$name"
      say "$name: starting RabbitMQ $(dpkg-query -W -f='${Version}' rabbitmq-server)"
      if ! wait_port "$RPORT" 90; then
        say "$name: RabbitMQ did not listen within 90 s"; tail -20 "$TMP/$name/server.log" >&2
        FAILED=1; stop_session "$SID"; break
      fi
      sleep 1  # the AMQP listener opens at the end of boot; let it settle
    fi
    run_load "$SID" "$name" rabbitmq --port "$RPORT" --queue-type "$qt"
    run_probe "$SID" "$name" rabbitmq --port "$RPORT" --queue-type "$qt"
  done
  stop_session "$SID"
done

# --- NATS JetStream: file storage --------------------------------------------
name=nats_js
port=$(free_port)
mkdir -p "$TMP/nats"
setsid nats-server -a 127.0.0.1 -p "$port" -js -sd "$TMP/nats/store" \
  >"$TMP/nats/server.log" 2>&1 &
SID=$!
SESSIONS+=("$SID")
say "$name: starting nats-server $(dpkg-query -W -f='${Version}' nats-server)"
if wait_port "$port" 30; then
  run_load "$SID" "$name" nats --port "$port"
  run_probe "$SID" "$name" nats --port "$port"
else
  say "$name: nats-server did not listen within 30 s"; FAILED=1
fi
stop_session "$SID"

# --- Mosquitto: QoS 1, persistence on, a persistent-session store ----------
name=mosquitto
port=$(free_port)
mkdir -p "$TMP/mosquitto"
cat >"$TMP/mosquitto/mosquitto.conf" <<EOF
listener $port 127.0.0.1
allow_anonymous true
persistence true
persistence_location $TMP/mosquitto/
# Keep every message queued for the offline store session (default 1000).
max_queued_messages 0
user $(id -un)
EOF
setsid mosquitto -c "$TMP/mosquitto/mosquitto.conf" \
  >"$TMP/mosquitto/server.log" 2>&1 &
SID=$!
SESSIONS+=("$SID")
say "$name: starting mosquitto $(dpkg-query -W -f='${Version}' mosquitto)"
if wait_port "$port" 30; then
  run_load "$SID" "$name" mosquitto --port "$port"
  run_probe "$SID" "$name" mosquitto --port "$port"
  # The same without the store session: the broker drops each message once
  # acknowledged (no subscriber), for comparison with figures taken so.
  out=$(timeout 300 "$BIN" mosquitto --port "$port" --mqtt-store off \
          --name mosquitto_nostore --publishers "$publishers" \
          --messages "$messages" --timeout 240) || FAILED=1
  echo "$out" | grep '^figure ingest' || true
  # What persistence does at exit: the in-memory database written out.
  strace_syncs "$TMP/strace-mosquitto-exit" "$SID"
  kill -TERM "$SID" 2>/dev/null || true
  wait "$STRACE_PID" 2>/dev/null || true
  STRACE_PID=""
  exit_syncs=$(sync_count "$TMP/strace-mosquitto-exit")
  db_bytes=$(stat -c %s "$TMP/mosquitto/mosquitto.db" 2>/dev/null || echo 0)
  echo "# durability mosquitto_save at exit: $exit_syncs syncs, mosquitto.db $db_bytes bytes (otherwise written every autosave_interval, 1800 s by default)"
else
  say "$name: mosquitto did not listen within 30 s"; FAILED=1
fi
stop_session "$SID"

"$BIN" payload | grep '^figure'
say "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
say "done$([ $FAILED -eq 0 ] || echo ', WITH FAILURES')"
exit $FAILED
