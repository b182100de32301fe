#!/usr/bin/env bash
# A throwaway cluster on this machine: a PostgreSQL server on a loopback port and N silos (nodes n1..nN),
# each with --devices (default cpu:1). Everything lives in one folder; `local-cluster.sh stop` ends it.
#   deploy/local-cluster.sh [N] [--devices cpu:2]      start (default N = 2)
#   deploy/local-cluster.sh stop                        stop the silos and the database, remove the folder
set -euo pipefail
cd "$(dirname "$0")/.."
state=${ORCHESTRATOR_LOCAL_CLUSTER:-/tmp/orchestrator-local-cluster}

if [ "${1:-}" = "stop" ]; then
  [ -d "$state" ] || { echo "no local cluster in $state"; exit 0; }
  for pidfile in "$state"/silo-*.pid; do
    [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
  done
  bin=$(dirname "$(compgen -G '/usr/lib/postgresql/*/bin/pg_ctl' | sort -V | tail -1)")
  as_pg=(); [ "$(id -u)" = 0 ] && as_pg=(runuser -u postgres --)
  "${as_pg[@]}" "$bin/pg_ctl" -D "$state/pg" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$state"
  echo "local cluster stopped"
  exit 0
fi

count=${1:-2}
devices=cpu:1
if [ "${2:-}" = "--devices" ]; then devices=${3:?--devices needs a value}; fi
[ -d "$state" ] && { echo "a local cluster already runs in $state; stop it first: $0 stop" >&2; exit 1; }

bin=$(dirname "$(compgen -G '/usr/lib/postgresql/*/bin/initdb' | sort -V | tail -1)")
[ -x "$bin/initdb" ] || { echo "PostgreSQL is not installed (apt-get install -y postgresql)" >&2; exit 1; }
mkdir -p "$state"
as_pg=()
if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$state"; as_pg=(runuser -u postgres --); fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"${as_pg[@]}" "$bin/initdb" -D "$state/pg" -U postgres --auth=trust -E UTF8 --no-sync >/dev/null
"${as_pg[@]}" "$bin/pg_ctl" -D "$state/pg" -l "$state/pg/server.log" -w \
  -o "-p $port -k $state/pg -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
cs="Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres"

dotnet build Silo -c Release -nologo -v quiet >/dev/null
exe=Silo/bin/Release/net10.0/orchestrator.dll
for i in $(seq 1 "$count"); do
  dotnet "$exe" silo --node "n$i" --devices "$devices" --postgres "$cs" \
    --silo-port $((11110 + i)) --gateway-port $((30000 + i - 1)) --storage "$state/storage/n$i" \
    > "$state/silo-n$i.log" 2>&1 &
  echo $! > "$state/silo-n$i.pid"
done
for i in $(seq 1 "$count"); do
  for _ in $(seq 1 120); do grep -q "silo n$i joined" "$state/silo-n$i.log" && break; sleep 0.5; done
  grep -q "silo n$i joined" "$state/silo-n$i.log" || { echo "silo n$i did not join; see $state/silo-n$i.log" >&2; exit 1; }
done

cat <<MSG
Local cluster: $count silo(s) (n1..n$count, $devices each), PostgreSQL on 127.0.0.1:$port; logs in $state.
  export ORCHESTRATOR__POSTGRES='$cs'
  dotnet $exe demo --steps 1 --seconds 5        # once, to generate the demo data in /tmp/orchestrator-demo
  dotnet $exe submit deploy/jobs/tiny.json
  dotnet $exe jobs
  dotnet $exe job tiny
  dotnet $exe cancel tiny
Stop it with: $0 stop
MSG
