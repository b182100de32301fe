#!/usr/bin/env bash
# Runs every test of the repository on a fresh Debian 12 machine that has the .NET SDK.
# What the tests need beyond the SDK is installed here: PostgreSQL's binaries for the Grains tests
# (their fixture starts a throwaway server itself; the package starts none) and chromium for the
# dashboard's browser tests (tests/Dashboard.Tests; screenshots land in its bin/Debug/net10.0/artifacts,
# or in $DASHBOARD_TEST_ARTIFACTS), so that this stays the one command.
set -euo pipefail
cd "$(dirname "$0")/.."

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

dotnet --version >/dev/null 2>&1 || { echo "deploy/test.sh: the .NET SDK (dotnet) is required" >&2; exit 1; }

# PostgreSQL: only the binaries (initdb, pg_ctl) and the postgres user; needs root and apt.
if ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
  echo "== installing postgresql"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi

# Chromium for the dashboard's browser tests (Playwright drives Debian's build; no browser download).
if [ ! -x /usr/bin/chromium ]; then
  echo "== installing chromium"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

dotnet build Orchestrator.sln -c Debug -nologo -v quiet

log=$(mktemp)
status=0
for project in tests/*/*.csproj; do
  echo "== $project"
  dotnet test "$project" --no-build -c Debug -nologo 2>&1 | tee -a "$log" || status=1
done

# One closing line that any CI reads: "N passed, N failed".
passed=$(grep -Eo 'Passed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
failed=$(grep -Eo 'Failed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
rm -f "$log"
echo "$passed passed, $failed failed"
if [ "$failed" -ne 0 ] || [ "$passed" -eq 0 ]; then status=1; fi
exit $status
