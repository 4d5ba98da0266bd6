#!/usr/bin/env bash
# Installs gom's build dependencies from Debian 12's packages; with
# --tests, also what the test suite needs (tests/run-all.sh): LibreOffice
# Calc to save workbooks, valgrind, clang and libFuzzer, the network tools.
# Does nothing (and needs no network) when they are all there already.
set -euo pipefail
pkgs=(build-essential cmake pkg-config
      libzmq3-dev libczmq-dev libprotobuf-c-dev protobuf-c-compiler
      libsqlite3-dev sqlite3 libjansson-dev libcsv-dev libxlsxwriter-dev
      libmicrohttpd-dev libsodium-dev libsystemd-dev libzip-dev libxml2-dev
      python3 dpkg-dev)
if [ "${1:-}" = "--tests" ]; then
  pkgs+=(iproute2 iptables clang-format clang libclang-rt-14-dev
         libreoffice-calc-nogui valgrind)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "install-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
