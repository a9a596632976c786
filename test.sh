#!/usr/bin/env bash
# Runs the whole test suite against real servers, on .NET 10 and on .NET 8. On a fresh machine it installs
# redis-server/redis-tools (the integration tests start their own servers from that binary on free loopback ports)
# and chromium (the reference service's live page is checked in it).
# The .NET 8 leg runs self-contained (the test projects' net8.0 target carries its runtime), so only the .NET 10 SDK
# is needed. Closing line: the counts per target framework; non-zero exit on any failure or skipped test.
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
status=0
run() {
  echo "== dotnet test $*"
  set +e
  dotnet test "$@" -c Release --nologo 2>&1 | tee -a "$log"
  local code=${PIPESTATUS[0]}
  set -e
  if [ "$code" != 0 ]; then status=1; fi
}

started=$SECONDS
run BendCare.Cache.sln -f net10.0
net10_seconds=$((SECONDS - started))
# .NET 8: every unit and integration test project (the embedded Garnet backend is .NET 10 only; CI never uses it).
started=$SECONDS
run tests/BendCare.Cache.UnitTests -f net8.0
run tests/BendCare.Cache.IntegrationTests -f net8.0
net8_seconds=$((SECONDS - started))

# One closing line for the whole run, per target framework, summed over the test projects ("... - X.dll (net8.0)").
awk -F'[:,]' -v t10="$net10_seconds" -v t8="$net8_seconds" '
  # "  Failed Namespace.Class.Test [12 ms]": the closing line names them, since a CI log may keep only its tail.
  /^  Failed [^ ].* \[[^]]+\]$/ { name = $0; sub(/^  Failed /, "", name); sub(/ \[.*/, "", name); sub(/\(.*/, "", name); n = split(name, parts, ".")
    failedNames = failedNames (failedNames == "" ? "; failed: " : ", ") parts[n-1] "." parts[n] }
  /^(Passed|Failed)!/ {
    fw = $0; sub(/.*\(/, "", fw); sub(/\).*/, "", fw)
    for (i = 1; i <= NF; i++) {
      if ($i ~ /Failed$/) f[fw] += $(i+1); if ($i ~ /Passed$/) p[fw] += $(i+1); if ($i ~ /Skipped$/) s[fw] += $(i+1)
    }
    seen[fw] = 1
  }
  END {
    if (!("net10.0" in seen) || !("net8.0" in seen)) { print "no test summary for net10.0 and net8.0"; exit 4 }
    printf "net10.0: %d passed, %d failed, %d skipped (%d s); net8.0: %d passed, %d failed, %d skipped (%d s)%s\n",
      p["net10.0"], f["net10.0"], s["net10.0"], t10, p["net8.0"], f["net8.0"], s["net8.0"], t8, failedNames
    if (s["net10.0"] + s["net8.0"] > 0) exit 3
  }' "$log" || status=1
exit "$status"
