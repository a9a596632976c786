#!/usr/bin/env bash
# The packages as a platform team meets them. Packs BendCare.Cache (.nupkg + .snupkg) and the BendCare.Cache.Tool
# .NET tool into a local folder with a version no feed or NuGet cache can already hold, then against a redis-server
# started here on a free loopback port:
#   1. a fresh ASP.NET consumer project outside the repository restores BendCare.Cache from that folder (no
#      project reference), compiles the README's, the package README's and the API contract's C# snippets, and runs
#      a miss then a hit of every cache type, the snippets, the connection check and its health endpoint;
#   2. `dotnet tool install --tool-path` installs the tool from that folder; `bendcare-cache check` must exit 0
#      against the server and 1 with its one-line reason against a refused port;
#   3. tests/BendCare.Cache.AotSmoke is published as Native AOT (trim/AOT warnings are errors) and must miss then
#      hit against the server (skipped with --no-aot).
# Exits non-zero on the first failure. Needs redis-server on PATH and a C toolchain (gcc or clang) for step 3.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
aot=true
for argument in "$@"; do
  case "$argument" in
    --no-aot) aot=false ;;
    *) echo "usage: $0 [--no-aot]" >&2; exit 2 ;;
  esac
done

work=$(mktemp -d)
redis_pid=""
global_packages=$(dotnet nuget locals global-packages --list | sed 's/^global-packages: //')
global_packages=${global_packages%/}
cleanup() {
  if [ -n "$redis_pid" ]; then kill "$redis_pid" 2>/dev/null || true; wait "$redis_pid" 2>/dev/null || true; fi
  rm -rf "$work"
  # The one-off versions restored into the NuGet cache are of no use to anyone after this run.
  if [ -n "${version:-}" ]; then rm -rf "$global_packages/bendcare.cache/$version" "$global_packages/bendcare.cache.tool/$version"; fi
}
trap cleanup EXIT
step() { echo; echo "== $* ($(date -u +%H:%M:%S))"; }
fail() { echo "consumer test FAILED: $*" >&2; exit 1; }
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A version of our own: a package of that id and version can only come from the folder below.
prefix=$(sed -n 's:.*<VersionPrefix>\(.*\)</VersionPrefix>.*:\1:p' "$repo/Directory.Build.props")
suffix="local.$(date -u +%Y%m%d%H%M%S).$$"
version="$prefix-$suffix"
packages="$work/packages"

step "pack BendCare.Cache and BendCare.Cache.Tool $version"
for project in src/BendCare.Cache src/BendCare.Cache.Tool; do
  dotnet pack "$repo/$project" -c Release -o "$packages" -p:VersionSuffix="$suffix" --nologo -v q || fail "dotnet pack $project"
done
for file in "BendCare.Cache.$version.nupkg" "BendCare.Cache.$version.snupkg" "BendCare.Cache.Tool.$version.nupkg"; do
  [ -f "$packages/$file" ] || fail "dotnet pack did not produce $file"
  echo "$file: $(stat -c %s "$packages/$file") bytes"
done
unzip -l "$packages/BendCare.Cache.$version.nupkg"

step "start redis-server on a free loopback port"
for _ in $(seq 1 20); do
  port=$((20000 + RANDOM % 40000))
  listening "$port" && continue
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" >"$work/redis.log" 2>&1 &
  redis_pid=$!
  for _ in $(seq 1 50); do
    if redis-cli -p "$port" ping 2>/dev/null | grep -q PONG; then break 2; fi
    kill -0 "$redis_pid" 2>/dev/null || break
    sleep 0.1
  done
  kill "$redis_pid" 2>/dev/null || true; wait "$redis_pid" 2>/dev/null || true; redis_pid=""
done
[ -n "$redis_pid" ] || fail "could not start redis-server (last log: $(tail -3 "$work/redis.log" 2>/dev/null))"
echo "$(redis-server --version | cut -d' ' -f1-3) pid $redis_pid on 127.0.0.1:$port"
refused=""
for _ in $(seq 1 20); do
  candidate=$((20000 + RANDOM % 40000))
  if ! listening "$candidate"; then refused=$candidate; break; fi
done
[ -n "$refused" ] || fail "found no free port to be refused on"
# Only the settings each step passes: nothing of the calling environment's cache settings.
for name in $(env | sed -n 's/^\(REDIS_[A-Za-z0-9_]*\|BendCareCache[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$name"; done

step "consumer project restores BendCare.Cache $version from the local folder, builds and runs"
consumer="$work/consumer"
mkdir -p "$consumer"
cp "$here"/*.cs "$here/BendCare.Cache.ConsumerTest.csproj" "$consumer/"
cp "$repo/tests/BendCare.Cache.AotSmoke/MissThenHit.cs" "$consumer/"
awk -v ns=ConsumerTest.Readme -v cls=ReadmeSnippets -v source=README.md -f "$here/extract-snippets.awk" "$repo/README.md" >"$consumer/ReadmeSnippets.cs"
awk -v ns=ConsumerTest.PackageReadme -v cls=PackageReadmeSnippets -v source=PACKAGE.md -f "$here/extract-snippets.awk" "$repo/src/BendCare.Cache/PACKAGE.md" >"$consumer/PackageReadmeSnippets.cs"
# The local folder added to the machine's usual feeds (no <clear/>: the other packages come from where they always do).
cat >"$consumer/nuget.config" <<CONFIG
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <add key="bendcare-local" value="$packages" />
  </packageSources>
</configuration>
CONFIG
(cd "$consumer" && dotnet build -c Release --nologo -v q -p:BendCareCacheVersion="$version") || fail "the consumer project does not build against the package"
grep -qF "\"source\": \"$packages" "$global_packages/bendcare.cache/$version/.nupkg.metadata" \
  || fail "BendCare.Cache $version was not restored from the local folder"
REDIS_HOST=127.0.0.1 REDIS_PORT=$port dotnet "$consumer/bin/Release/net10.0/BendCare.Cache.ConsumerTest.dll" || fail "the consumer program"

step "dotnet tool install BendCare.Cache.Tool $version; bendcare-cache check"
dotnet tool install --tool-path "$work/tools" --add-source "$packages" --version "$version" BendCare.Cache.Tool || fail "dotnet tool install"
set +e
REDIS_HOST=127.0.0.1 REDIS_PORT=$port "$work/tools/bendcare-cache" check >"$work/check-ok.txt" 2>&1
ok_status=$?
REDIS_HOST=127.0.0.1 REDIS_PORT=$refused BendCareCache__ConnectTimeout=00:00:02 "$work/tools/bendcare-cache" check >"$work/check-refused.txt" 2>&1
refused_status=$?
set -e
cat "$work/check-ok.txt"
[ "$ok_status" = 0 ] && grep -q "^OK: " "$work/check-ok.txt" || fail "bendcare-cache check against the server: exit $ok_status"
cat "$work/check-refused.txt"
[ "$refused_status" = 1 ] && grep -q "^FAILED (refused): " "$work/check-refused.txt" \
  || fail "bendcare-cache check against refused port $refused: exit $refused_status, expected 1 and 'FAILED (refused): ...'"
echo "bendcare-cache check: exit 0 against 127.0.0.1:$port, exit 1 (refused) against 127.0.0.1:$refused"

if [ "$aot" = true ]; then
  step "Native AOT smoke app: publish (trim/AOT warnings are errors) and run"
  dotnet publish "$repo/tests/BendCare.Cache.AotSmoke" -c Release -r linux-x64 -o "$work/aot" --nologo -v q || fail "Native AOT publish"
  echo "native executable: $(stat -c %s "$work/aot/BendCare.Cache.AotSmoke") bytes"
  REDIS_HOST=127.0.0.1 REDIS_PORT=$port Logging__LogLevel__Default=Warning "$work/aot/BendCare.Cache.AotSmoke" || fail "the Native AOT smoke app"
fi

echo
echo "consumer test: OK"
