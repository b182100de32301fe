#!/usr/bin/env bash
# A throwaway cluster on this machine: a PostgreSQL server on a loopback port and N silos (nodes n1..nN),
# each with --devices (default cpu:1). Everything lives in one folder; `local-cluster.sh stop` ends it.
#   deploy/local-cluster.sh [N] [--devices cpu:2]      start (default N = 2)
#   deploy/local-cluster.sh stop                        stop the silos and the database, remove the folder
#   deploy/local-cluster.sh kill nK                     SIGKILL node nK's silo (a node loss; the job recovers)
#   deploy/local-cluster.sh start nK                    start node nK's silo again (it rejoins under its name)
set -euo pipefail
cd "$(dirname "$0")/.."
state=${ORCHESTRATOR_LOCAL_CLUSTER:-/tmp/orchestrator-local-cluster}
exe=Silo/bin/Release/net10.0/orchestrator.dll

start_silo() { # node index, devices, connection string
  local i=$1
  dotnet "$exe" silo --node "n$i" --devices "$2" --postgres "$3" \
    --silo-port $((11110 + i)) --gateway-port $((30000 + i - 1)) --storage "$state/storage" \
    >> "$state/silo-n$i.log" 2>&1 &
  echo $! > "$state/silo-n$i.pid"
}

wait_joined() { # node index, joins seen before
  for _ in $(seq 1 240); do [ "$(grep -c "silo n$1 joined" "$state/silo-n$1.log")" -gt "$2" ] && return 0; sleep 0.5; done
  echo "silo n$1 did not join; see $state/silo-n$1.log" >&2; return 1
}

if [ "${1:-}" = "kill" ] || [ "${1:-}" = "start" ]; then
  node=${2:?which node? e.g. n2}; i=${node#n}
  [ -f "$state/cluster.env" ] || { echo "no local cluster in $state" >&2; exit 1; }
  . "$state/cluster.env"
  if [ "$1" = "kill" ]; then
    kill -9 "$(cat "$state/silo-$node.pid")" && echo "killed $node (pid $(cat "$state/silo-$node.pid"))"
  else
    before=$(grep -c "silo $node joined" "$state/silo-$node.log" || true)
    start_silo "$i" "$DEVICES" "$POSTGRES"
    wait_joined "$i" "$before" && echo "$node rejoined (pid $(cat "$state/silo-$node.pid"))"
  fi
  exit 0
fi

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
printf "POSTGRES='%s'\nDEVICES='%s'\n" "$cs" "$devices" > "$state/cluster.env"
# One storage root for all silos, as a shared filesystem would be: any node can load any checkpoint shard.
for i in $(seq 1 "$count"); do start_silo "$i" "$devices" "$cs"; done
for i in $(seq 1 "$count"); do wait_joined "$i" 0; done

cat <<MSG
Local cluster: $count silo(s) (n1..n$count, $devices each), PostgreSQL on 127.0.0.1:$port; logs in $state.
  export ORCHESTRATOR__POSTGRES='$cs'
  dotnet $exe demo --steps 1 --seconds 5        # once, to generate the demo data in /tmp/orchestrator-demo
  dotnet $exe submit deploy/jobs/tiny.json
  dotnet $exe jobs
  dotnet $exe job tiny
  dotnet $exe cancel tiny
Lose a node and bring it back: $0 kill n2; $0 start n2
Stop it with: $0 stop
MSG
