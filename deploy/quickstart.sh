#!/usr/bin/env bash
# gom quickstart: installs the dependencies, builds, and runs on this machine
# a hub with its dashboard and four agents of a demo province (three
# districts of Hà Tĩnh, deploy/units-ha-tinh-demo.csv), which send reports
# made from deploy/samples/ (deploy/demo-reports.py): some on time, some
# late, some missing, one rejected. The agents queue the reports before the
# hub is even up, as an office PC with a dead line would; then the hub
# starts and takes them.
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
# The seed documents' forms and a demo province: three districts of Hà Tĩnh
# with five communes each (names real, codes illustrative).
cp "$top"/deploy/forms/*.json "$demo/hub/forms/"
cp "$top/deploy/units-ha-tinh-demo.csv" "$demo/hub/units.csv"
echo "hub:   $demo/hub (key $hub_key)"
# The dashboard: on 127.0.0.1 only, an admin with a fresh random password.
http_port=${GOM_DEMO_HTTP_PORT:-8080}
sed -i "s/^    http_port = .*/    http_port = $http_port/" "$demo/hub/hub.cfg"
password=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
echo "$password" | "$hub" user add --config "$demo/hub/hub.cfg" --name admin --role admin >/dev/null
echo "$password" >"$demo/dashboard-password.txt"
chmod 600 "$demo/dashboard-password.txt"

# The demo's reports (form HT-VSTBPN-6T): 2026-H2 (deadline 14/12/2026) from
# most communes, on time; 2026-H1 (deadline 14/06/2026) from some, late.
# Xã Thạch Hạ (18085), Xã Cẩm Quang (18574) and three communes of Kỳ Anh
# send nothing (missing).
files="$demo/files"
h2=$(python3 "$top/deploy/demo-reports.py" "$demo/hub/units.csv" 2026-H2 "$files" \
       18085 18574 18655 18658 18661 18664)
h1=$(python3 "$top/deploy/demo-reports.py" "$demo/hub/units.csv" 2026-H1 "$files" \
       18568 18571 18574 18652 18655 18658 18661 18664)
expected=$(echo $h2 $h1 | wc -w)

# agent NAME UNITS ENROLL_UNITS: an office PC's agent, enrolled at the hub.
agent_init() {
  local name=$1 units=$2 enroll=$3 key
  key=$("$agent" init --dir "$demo/agent-$name" --hub "tcp://127.0.0.1:$port" \
          --hub-key "$hub_key" --unit "$units" | sed -n 's/^agent-key: //p')
  "$hub" enroll --config "$demo/hub/hub.cfg" --unit "$enroll" --key "$key" >/dev/null
}
agent_run() {
  "$agent" run --config "$demo/agent-$1/agent.cfg" >"$demo/agent-$1.log" 2>&1 </dev/null &
  echo $! >"$demo/agent-$1.pid"
}
mine() {  # the report files of these units
  local f u
  for f in $h2 $h1; do for u in "$@"; do case $f in */$u-*) echo "$f";; esac; done; done
}
# Two district offices report for their communes; one commune has its own.
agent_init tp-ha-tinh 18073,18076,18079,18082,18085 18073,18076,18079,18082,18085
agent_init cam-xuyen 18562,18565,18568,18571,18574 18562,18565,18568,18571,18574
agent_init ky-xuan 18652 18652
# One PC set up for Xã Kỳ Bắc but enrolled, by mistake, for Xã Kỳ Phú: the
# hub refuses its report (the dashboard shows it rejected, and why).
agent_init ky-bac 18655 18658
# Offline first: the reports are queued before any hub is reachable.
"$agent" submit --config "$demo/agent-tp-ha-tinh/agent.cfg" $(mine 18073 18076 18079 18082 18085) >/dev/null
"$agent" submit --config "$demo/agent-cam-xuyen/agent.cfg" $(mine 18562 18565 18568 18571 18574) >/dev/null
"$agent" submit --config "$demo/agent-ky-xuan/agent.cfg" $(mine 18652) >/dev/null
python3 "$top/deploy/demo-reports.py" "$demo/hub/units.csv" 2026-H2 "$demo/files-ky-bac" \
  $(sed -n 's/^\([0-9]*\),.*,commune,.*/\1/p' "$demo/hub/units.csv" | grep -v '^18655$') >/dev/null
"$agent" submit --config "$demo/agent-ky-bac/agent.cfg" "$demo/files-ky-bac/18655-2026-H2.json" >/dev/null
for a in tp-ha-tinh cam-xuyen ky-xuan ky-bac; do agent_run "$a"; done

"$hub" run --config "$demo/hub/hub.cfg" >"$demo/hub.log" 2>&1 </dev/null &
echo $! >"$demo/hub.pid"

# Wait (at most 60 s) until the hub holds every report and the misenrolled
# agent has its refusal.
deadline=$((SECONDS + 60))
until [ "$("$hub" status --config "$demo/hub/hub.cfg" --json 2>/dev/null | sed -n 's/^  "reports": \([0-9]*\),/\1/p')" = "$expected" ] &&
      "$agent" status --config "$demo/agent-ky-bac/agent.cfg" --json | grep -q '"rejected": 1'; do
  if [ $SECONDS -ge $deadline ]; then
    echo "quickstart: the hub did not get the $expected demo reports in 60 s; see $demo/*.log" >&2
    exit 1
  fi
  sleep 0.2
done
echo
echo "== what the hub stored (gom-hub reports) =="
"$hub" reports --config "$demo/hub/hub.cfg"
echo
echo "== the province's table and who has reported (gom-hub totals, arrivals) =="
"$hub" totals --config "$demo/hub/hub.cfg" --form HT-VSTBPN-6T --period 2026-H2 | head -8
"$hub" arrivals --config "$demo/hub/hub.cfg" --form HT-VSTBPN-6T --period 2026-H2
echo
echo "== an agent's view (gom-agent list) =="
"$agent" list --config "$demo/agent-ky-bac/agent.cfg"
echo
echo "The dashboard: http://127.0.0.1:$http_port/  (user admin, password $password;"
echo "  also in $demo/dashboard-password.txt)"
echo
echo "The hub and four agents keep running. Try:"
echo "  $agent submit --config $demo/agent-ky-xuan/agent.cfg FILE.json"
echo "  $hub status --config $demo/hub/hub.cfg"
echo "Stop them with: deploy/quickstart.sh stop"
