#!/usr/bin/env bash
# Runs the whole test suite against real servers. On a fresh machine it installs redis-server/redis-tools
# (the integration tests start their own servers from that binary on free loopback ports) and chromium.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
  echo "redis-server not found: installing redis-server and redis-tools from the OS packages"
  SUDO=""
  if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
  $SUDO apt-get update
  $SUDO apt-get install -y redis-server redis-tools
fi
echo "using $(redis-server --version)"

# The reference service's live-page test drives Debian's headless Chromium (it fails, never skips, without it).
if [ ! -x /usr/bin/chromium ]; then
  echo "chromium not found: installing it from the OS packages"
  SUDO=""
  if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
  $SUDO apt-get update
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
dotnet test BendCare.Cache.sln -c Release --nologo 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

# One closing line for the whole run, summed over the test projects.
awk -F'[:,]' '/^(Passed|Failed)!/ { for (i = 1; i <= NF; i++) { if ($i ~ /Failed$/) f += $(i+1); if ($i ~ /Passed$/) p += $(i+1); if ($i ~ /Skipped$/) s += $(i+1) } }
  END { printf "%d passed, %d failed, %d skipped\n", p, f, s; if (s > 0) exit 3 }' "$log" || status=1
exit "$status"
