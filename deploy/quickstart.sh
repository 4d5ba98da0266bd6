#!/usr/bin/env bash
# gom quickstart: installs the dependencies, builds, and runs a hub and three
# commune agents on this machine, which send the sample reports in
# deploy/samples/. The agents queue the reports before the hub is even up,
# as an office PC with a dead line would; then the hub starts and takes them.
#
#   deploy/quickstart.sh          set up and run (in ./demo-run)
#   deploy/quickstart.sh stop     stop the hub and agents it started
#
# Everything listens on 127.0.0.1 only.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
demo=${GOM_DEMO_DIR:-$top/demo-run}
port=${GOM_DEMO_PORT:-7770}

stop_all() {
  for pidfile in "$demo"/*.pid; do
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null && echo "stopped $(basename "$pidfile" .pid) ($pid)"
    rm -f "$pidfile"
  done
}
if [ "${1:-}" = "stop" ]; then stop_all; exit 0; fi

bash "$top/deploy/install-deps.sh"
cmake -S "$top" -B "$top/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$top/build" -j"$(nproc)" >/dev/null
hub="$top/build/hub/gom-hub"
agent="$top/build/agent/gom-agent"

stop_all
rm -rf "$demo"
mkdir -p "$demo"
hub_key=$("$hub" init --dir "$demo/hub" --endpoint "tcp://127.0.0.1:$port" | sed -n 's/^hub-key: //p')
# The seed documents' forms and a sample unit tree (codes are illustrative).
cp "$top"/deploy/forms/*.json "$demo/hub/forms/"
cp "$top/deploy/units-ha-tinh-sample.csv" "$demo/hub/units.csv"
echo "hub:   $demo/hub (key $hub_key)"
# The dashboard: on 127.0.0.1 only, an admin with a fresh random password.
http_port=${GOM_DEMO_HTTP_PORT:-8080}
sed -i "s/^    http_port = .*/    http_port = $http_port/" "$demo/hub/hub.cfg"
password=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
echo "$password" | "$hub" user add --config "$demo/hub/hub.cfg" --name admin --role admin >/dev/null
echo "$password" >"$demo/dashboard-password.txt"
chmod 600 "$demo/dashboard-password.txt"

units=(18073 18076 18079)
for u in "${units[@]}"; do
  key=$("$agent" init --dir "$demo/agent-$u" --hub "tcp://127.0.0.1:$port" \
          --hub-key "$hub_key" --unit "$u" | sed -n 's/^agent-key: //p')
  "$hub" enroll --config "$demo/hub/hub.cfg" --unit "$u" --key "$key" >/dev/null
  # Offline first: the report is queued before any hub is reachable.
  "$agent" submit --config "$demo/agent-$u/agent.cfg" "$top/deploy/samples/$u-2026-H1.json"
  "$agent" run --config "$demo/agent-$u/agent.cfg" >"$demo/agent-$u.log" 2>&1 </dev/null &
  echo $! >"$demo/agent-$u.pid"
done

"$hub" run --config "$demo/hub/hub.cfg" >"$demo/hub.log" 2>&1 </dev/null &
echo $! >"$demo/hub.pid"

# Wait (at most 60 s) until every agent has its acknowledgement.
deadline=$((SECONDS + 60))
for u in "${units[@]}"; do
  until "$agent" status --config "$demo/agent-$u/agent.cfg" --json | grep -q '"acked": 1'; do
    if [ $SECONDS -ge $deadline ]; then
      echo "quickstart: agent $u got no acknowledgement in 60 s; see $demo/agent-$u.log and $demo/hub.log" >&2
      exit 1
    fi
    sleep 0.2
  done
done
echo
echo "== what the hub stored (gom-hub reports) =="
"$hub" reports --config "$demo/hub/hub.cfg"
echo
echo "== the province's table and who has reported (gom-hub totals, arrivals) =="
"$hub" totals --config "$demo/hub/hub.cfg" --form HT-VSTBPN-6T --period 2026-H1 | head -8
"$hub" arrivals --config "$demo/hub/hub.cfg" --form HT-VSTBPN-6T --period 2026-H1
echo
echo "== an agent's view (gom-agent list) =="
"$agent" list --config "$demo/agent-18073/agent.cfg"
echo
echo "The dashboard: http://127.0.0.1:$http_port/  (user admin, password $password;"
echo "  also in $demo/dashboard-password.txt)"
echo
echo "The hub and three agents keep running. Try:"
echo "  $agent submit --config $demo/agent-18073/agent.cfg FILE.json"
echo "  $hub status --config $demo/hub/hub.cfg"
echo "Stop them with: deploy/quickstart.sh stop"
