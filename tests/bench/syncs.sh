# shellcheck shell=bash
# Durability as measured: the sync calls a server makes while messages are
# acknowledged one at a time. Sourced by tests/bench/bench_brokers.sh (each
# broker) and tests/bench/run (gom-hub); needs strace.
#
#   strace_syncs FILE PID...    start counting (STRACE_PID); returns once
#                               every thread of the PIDs is traced, or
#                               with STRACE_OK=0 if strace could not
#                               attach (ptrace refused, a pid gone)
#   strace_stop                 stop counting; FILE then holds the table
#   sync_report NAME FILE N RC  the lines for N messages acknowledged one
#                               at a time (RC: the probe run's exit status):
#     figure durability_NAME_syncs_per_ack VALUE syncs/ack
#     # durability NAME WHAT: COUNTS
#                               or, if the probe failed or strace was not
#                               attached, only "# durability NAME not
#                               measured (why)": no figure
#                               (the statement a comment line, as
#                               tests/bench/run prints it)

STRACE_PID=""
STRACE_OK=0

# Starts strace counting the sync calls of pids $2... into file $1 (in
# STRACE_PID), and waits, with a deadline, until every thread of them is
# traced: a fixed sleep could miss the first syncs of a slow attach.
strace_syncs() {
  local out=$1 pid t args=(); shift
  for pid in "$@"; do args+=(-p "$pid"); done
  timeout 200 strace -f -c -e trace=fsync,fdatasync,sync_file_range,syncfs,msync \
    -o "$out" "${args[@]}" 2>/dev/null &
  STRACE_PID=$!
  STRACE_OK=0
  local deadline=$((SECONDS + 10))
  for pid in "$@"; do
    [ -d "/proc/$pid/task" ] ||
      { echo "strace: no process $pid" >&2; return 0; }
    for t in /proc/"$pid"/task/*; do
      until ! [ -e "$t/status" ] ||
            grep -q '^TracerPid:[[:space:]]*[1-9]' "$t/status" 2>/dev/null; do
        # strace that could not attach exits at once, its table empty:
        # that is "not measured", never "no sync".
        kill -0 "$STRACE_PID" 2>/dev/null ||
          { echo "strace: could not attach to $pid" >&2; return 0; }
        [ $SECONDS -lt $deadline ] ||
          { echo "strace: $pid not traced in 10 s" >&2; return 0; }
        sleep 0.05
      done
    done
  done
  kill -0 "$STRACE_PID" 2>/dev/null && STRACE_OK=1
  return 0
}

# Stops the strace of strace_syncs (half a second after the last
# acknowledgement, for a sync that follows it), which then writes its table.
strace_stop() {
  sleep 0.5
  if [ -n "$STRACE_PID" ]; then
    kill -INT "$STRACE_PID" 2>/dev/null || true
    wait "$STRACE_PID" 2>/dev/null || true
  fi
  STRACE_PID=""
}

# The number of sync calls in strace -c's table $1 (calls: the 4th column;
# the last names the call).
sync_count() {
  awk '$NF ~ /sync/ { n += $4 } END { print n + 0 }' "$1" 2>/dev/null || echo 0
}

sync_report() {
  local name=$1 file=$2 n=$3 rc=$4 syncs detail
  if [ "$rc" -ne 0 ]; then
    echo "# durability $name not measured (probe run failed, exit $rc)"
    return 0
  fi
  if [ "$STRACE_OK" != 1 ]; then
    echo "# durability $name not measured (strace could not attach to it)"
    return 0
  fi
  syncs=$(sync_count "$file")
  detail=$(awk '$NF ~ /sync/ { printf "%s%s %s", sep, $4, $NF; sep = ", " }' \
               "$file" 2>/dev/null || true)
  awk -v s="$syncs" -v n="$n" -v name="$name" 'BEGIN {
    printf "figure durability_%s_syncs_per_ack %.2f syncs/ack\n", name, s / n }'
  if [ "$syncs" -ge "$n" ]; then
    echo "# durability $name a sync per ack: $syncs syncs ($detail) for $n messages acked one at a time"
  elif [ "$syncs" -eq 0 ]; then
    echo "# durability $name no fsync: 0 syncs for $n messages acked one at a time (acked from memory)"
  else
    echo "# durability $name partial: $syncs syncs ($detail) for $n messages acked one at a time"
  fi
}
