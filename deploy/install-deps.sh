#!/usr/bin/env bash
# Installs gom's build dependencies from Debian 12's packages; with
# --tests, also what the test suite needs (tests/run-all.sh): LibreOffice
# Calc to save workbooks, valgrind, clang and libFuzzer, the network tools.
# With --bench, also the brokers issue 8 compares gom with (RabbitMQ, NATS,
# Mosquitto) and their C client libraries, for tests/bench/bench_brokers.sh;
# their system services are stopped and disabled, since the benchmark starts
# its own instances on loopback. The options combine (--tests --bench).
# Does nothing (and needs no network) when they are all there already.
set -euo pipefail
pkgs=(build-essential cmake pkg-config
      libzmq3-dev libczmq-dev libprotobuf-c-dev protobuf-c-compiler
      libsqlite3-dev sqlite3 libjansson-dev libcsv-dev libxlsxwriter-dev
      libmicrohttpd-dev libsodium-dev libsystemd-dev libzip-dev libxml2-dev
      python3 dpkg-dev)
bench=0
for arg in "$@"; do
  case "$arg" in
    --tests)
      pkgs+=(iproute2 iptables clang-format clang libclang-rt-14-dev
             libreoffice-calc-nogui valgrind) ;;
    --bench)
      bench=1
      pkgs+=(rabbitmq-server nats-server mosquitto
             librabbitmq-dev libnats-dev libmosquitto-dev strace) ;;
    *) echo "usage: $0 [--tests] [--bench]" >&2; exit 2 ;;
  esac
done
# The brokers' services (and Erlang's epmd, which RabbitMQ pulls in) must not
# stay running: stop and disable any that the packages installed.
bench_services=(rabbitmq-server nats-server mosquitto epmd.socket epmd.service)
stop_bench_services() {
  [ "$bench" -eq 1 ] || return 0
  if [ -d /run/systemd/system ]; then
    for s in "${bench_services[@]}"; do
      if systemctl list-unit-files "$s" 2>/dev/null | grep -q "^$s"; then
        $SUDO systemctl disable --now "$s" >/dev/null 2>&1 || true
      fi
    done
  fi
  for s in rabbitmq-server nats-server mosquitto; do
    if [ -x "/etc/init.d/$s" ]; then
      $SUDO /etc/init.d/"$s" stop >/dev/null 2>&1 || true
      $SUDO update-rc.d "$s" disable >/dev/null 2>&1 || true
    fi
  done
  # rabbitmq-server's postinst runs rabbitmqctl, whose Erlang starts an epmd
  # daemon (port 4369, all addresses) that outlives the install: end it.
  if command -v epmd >/dev/null 2>&1 && epmd -names >/dev/null 2>&1; then
    epmd -kill >/dev/null 2>&1 || true
  fi
}
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Keep the brokers from starting at all during the install where nothing
# else already says so (policy-rc.d exit 101: invoke-rc.d starts nothing).
made_policy=0
if [ "$bench" -eq 1 ] && [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod 755 /usr/sbin/policy-rc.d
  made_policy=1
fi
cleanup() {
  [ "$made_policy" -eq 0 ] || $SUDO rm -f /usr/sbin/policy-rc.d
}
trap cleanup EXIT
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
stop_bench_services
