#!/usr/bin/env bash
# Installs what the dashboard's browser tests need, if it is missing:
# Debian's chromium (the browser playwright-core drives) and the node
# packages of tests/e2e (npm ci, from package-lock.json). Idempotent and
# non-interactive; says what it does. Run as root (or with sudo available).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "e2e setup: need root (or sudo) for: $*" >&2; exit 1; fi
}

apt_install() {
  echo "e2e setup: installing Debian packages: $*"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get install -y --no-install-recommends "$@" >/dev/null || {
    as_root apt-get update -qq && as_root apt-get install -y --no-install-recommends "$@" >/dev/null; }
}

if [ -x /usr/bin/chromium ]; then
  echo "e2e setup: chromium present ($(/usr/bin/chromium --version 2>/dev/null || echo '?'))"
else
  apt_install chromium
fi

if command -v node >/dev/null && command -v npm >/dev/null; then
  echo "e2e setup: node $(node --version), npm $(npm --version) present"
else
  apt_install nodejs npm
fi

# node_modules is stale when package-lock.json is newer than npm's own record
# of the installed tree, or when playwright-core is not there at all.
stamp="$here/node_modules/.package-lock.json"
if [ ! -d "$here/node_modules/playwright-core" ] || [ ! -f "$stamp" ] || \
   [ "$here/package-lock.json" -nt "$stamp" ] || [ "$here/package.json" -nt "$stamp" ]; then
  echo "e2e setup: npm ci in $here"
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
else
  echo "e2e setup: $here/node_modules is up to date"
fi
echo "e2e setup: done"
