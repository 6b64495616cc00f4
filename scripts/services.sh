#!/usr/bin/env bash
# Installs, starts, waits for and stops the platform's backing services on
# 127.0.0.1: Elasticsearch (integ-test-zip from Maven, run by an unprivileged
# user), Redis and PostgreSQL (Debian packages).
#
#   scripts/services.sh install          install packages and fetch Elasticsearch
#   scripts/services.sh start [profile]  start what is not already answering
#   scripts/services.sh stop             stop what `start` started
#   scripts/services.sh restart NAME [S] stop and start one service we started (es|redis|postgres),
#                                        keeping its data directory; exit 3 if we did not start it;
#                                        es stays down S seconds in between (an outage, for fault tests)
#   scripts/services.sh status
#   scripts/services.sh dirs             create and print the service user's directory (see SVC_DIR)
#
# profile "test" gives Elasticsearch and PostgreSQL throwaway data directories;
# "dev" keeps them in SVC_DIR. A service that already answers on its port is
# reused and never stopped by us (another checkout or a helper may own it).
#
# Two places: RUN_DIR (.run/ in the checkout, the invoking user's: what we started, pointers) and SVC_DIR,
# everything the service user writes or reads (data, Elasticsearch config, logs, pid files). SVC_DIR is
# never inside the checkout, which may sit where the service user cannot enter (a home of mode 0700):
# /var/lib/soc-platform/<checkout hash> as root, $XDG_STATE_HOME/soc-platform/<checkout hash> otherwise.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=/dev/null
. "$ROOT/versions.env"
# Outside git and readable by the service user (root's home is not).
if [ "$(id -u)" = 0 ]; then CACHE_DIR=${SOC_CACHE_DIR:-/var/cache/soc-platform}; else CACHE_DIR=${SOC_CACHE_DIR:-$HOME/.cache/soc-platform}; fi
SVC_USER=${SOC_SERVICE_USER:-socsvc}
ES_PORT=${ES_PORT:-9200}
REDIS_PORT=${REDIS_PORT:-6379}
PG_PORT=${PG_PORT:-5432}
# A set on other ports (a private one beside the shared set) keeps its pid files, config, logs and
# "started" list apart: sharing .run/ would let its `stop` or `restart` reach the other set's services.
if [ "$ES_PORT:$REDIS_PORT:$PG_PORT" = 9200:6379:5432 ]; then RUN_DIR=${SOC_RUN_DIR:-$ROOT/.run}
else RUN_DIR=${SOC_RUN_DIR:-$ROOT/.run/ports-$ES_PORT-$REDIS_PORT-$PG_PORT}; fi
if [ "$(id -u)" = 0 ]; then STATE_BASE=${SOC_STATE_DIR:-/var/lib/soc-platform}
else STATE_BASE=${SOC_STATE_DIR:-${XDG_STATE_HOME:-$HOME/.local/state}/soc-platform}; fi
# One per checkout (its path hashed) and per run dir, so two checkouts or two port sets never share data.
SVC_DIR=$STATE_BASE/$(printf '%s' "$RUN_DIR" | sha256sum | cut -c1-16)
PG_USER=${PG_USER:-soc}
WAIT_SECONDS=${SOC_WAIT_SECONDS:-120}
ES_HOME="$CACHE_DIR/elasticsearch-$ES_VERSION"
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)

log() { printf '[services] %s\n' "$*" >&2; }
die() { printf '[services] ERROR: %s\n' "$*" >&2; exit 1; }
as_svc() { if [ "$(id -u)" = 0 ]; then runuser -u "$SVC_USER" -- "$@"; else "$@"; fi; }

ensure_user() {
  [ "$(id -u)" = 0 ] || return 0
  id "$SVC_USER" >/dev/null 2>&1 || useradd --system --create-home --shell /usr/sbin/nologin "$SVC_USER"
}

apt_install() {
  local missing=()
  command -v redis-server >/dev/null || missing+=(redis-server)
  [ -n "$PG_BIN" ] && [ -x "$PG_BIN/initdb" ] || missing+=(postgresql)
  command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
  command -v unzip >/dev/null || missing+=(unzip)
  command -v mvn >/dev/null || missing+=(maven)
  # The web process writes the incident report PDF in DejaVu Sans (Vietnamese letters): incidents/report.py.
  [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
  PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
}

fetch_es() {
  [ -x "$ES_HOME/bin/elasticsearch" ] && return 0
  local coords="org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION:zip"
  log "fetching Elasticsearch $ES_VERSION ($coords) with mvn"
  mkdir -p "$CACHE_DIR"
  mvn -q -B -Dstyle.color=never dependency:copy -Dartifact="$coords" -DoutputDirectory="$CACHE_DIR" -Dmdep.overWriteIfNewer=true \
    || die "mvn could not fetch $coords"
  (cd "$CACHE_DIR" && unzip -q -o "elasticsearch-$ES_VERSION.zip" && rm -f "elasticsearch-$ES_VERSION.zip")
}

cmd_install() {
  ensure_user
  apt_install
  fetch_es
  [ "$(id -u)" = 0 ] && chown -R "$SVC_USER" "$ES_HOME"
  return 0
}

java_home() {  # Java 17 from the machine (the integ-test-zip bundles no JDK)
  if [ -n "${ES_JAVA_HOME:-}" ]; then echo "$ES_JAVA_HOME"; return; fi
  dirname "$(dirname "$(readlink -f "$(command -v java)")")"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() {  # name, probe command...
  local name=$1; shift
  local deadline=$((SECONDS + WAIT_SECONDS))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -ge $deadline ] && die "$name did not come up within ${WAIT_SECONDS}s (see $SVC_DIR/$name.log)"
    sleep 0.5
  done
  log "$name is up"
}

data_dir() {  # name, profile -> prints a data dir owned by the service user
  local dir
  if [ "$2" = test ]; then dir=$(mktemp -d "/tmp/soc-$1-XXXXXX"); else dir="$SVC_DIR/$1-data"; fi
  mkdir -p "$dir"; [ "$(id -u)" = 0 ] && chown "$SVC_USER" "$dir"; chmod 700 "$dir"
  echo "$dir"
}

start_es() {
  if port_open "$ES_PORT"; then log "elasticsearch already answers on $ES_PORT: reusing it"; return 0; fi
  local data conf
  data=${ES_DATA_DIR:-$(data_dir es "$1")}; conf="$SVC_DIR/es-config"
  echo "$data" >"$RUN_DIR/es.datadir"
  rm -rf "$conf"; cp -r "$ES_HOME/config" "$conf"; [ "$(id -u)" = 0 ] && chown -R "$SVC_USER" "$conf"
  log "starting elasticsearch $ES_VERSION on 127.0.0.1:$ES_PORT (data $data)"
  as_svc env ES_PATH_CONF="$conf" ES_JAVA_OPTS="-Xms1g -Xmx1g" ES_JAVA_HOME="$(java_home)" \
    "$ES_HOME/bin/elasticsearch" -d -p "$SVC_DIR/es.pid" \
    -E discovery.type=single-node -E xpack.security.enabled=false -E network.host=127.0.0.1 \
    -E http.port="$ES_PORT" -E transport.port=0 -E path.data="$data" -E path.logs="$SVC_DIR/es-logs" \
    -E cluster.routing.allocation.disk.threshold_enabled=false -E action.destructive_requires_name=false \
    >"$SVC_DIR/elasticsearch.log" 2>&1 || die "elasticsearch failed to start (see $SVC_DIR/elasticsearch.log)"
  echo es >>"$RUN_DIR/started"
  wait_for elasticsearch curl -fsS "http://127.0.0.1:$ES_PORT/_cluster/health?wait_for_status=yellow&timeout=1s"
}

start_redis() {
  if port_open "$REDIS_PORT"; then log "redis already answers on $REDIS_PORT: reusing it"; return 0; fi
  log "starting redis on 127.0.0.1:$REDIS_PORT"
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes --save '' --appendonly no \
    --dir "$SVC_DIR" --pidfile "$SVC_DIR/redis.pid" --logfile "$SVC_DIR/redis.log" \
    || die "redis failed to start (see $SVC_DIR/redis.log)"
  echo redis >>"$RUN_DIR/started"
  wait_for redis redis-cli -p "$REDIS_PORT" ping
}

start_postgres() {
  if port_open "$PG_PORT"; then log "postgresql already answers on $PG_PORT: reusing it"; ensure_database; return 0; fi
  local data
  data=${PG_DATA_DIR:-$(data_dir pg "$1")}
  if [ ! -f "$data/PG_VERSION" ]; then
    as_svc "$PG_BIN/initdb" -D "$data" -U "$PG_USER" --auth=trust -E UTF8 >"$SVC_DIR/postgres-init.log" 2>&1 \
      || die "postgresql initdb failed (see $SVC_DIR/postgres-init.log)"
  fi
  echo "$data" >"$RUN_DIR/pg.datadir"
  log "starting postgresql on 127.0.0.1:$PG_PORT (data $data)"
  as_svc "$PG_BIN/pg_ctl" -D "$data" -l "$SVC_DIR/postgresql.log" -w -t 60 start \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k /tmp -c fsync=off -c max_connections=200" >/dev/null \
    || die "postgresql failed to start (see $SVC_DIR/postgresql.log)"
  echo postgres >>"$RUN_DIR/started"
  wait_for postgresql "$PG_BIN/pg_isready" -h 127.0.0.1 -p "$PG_PORT"
  ensure_database
}

ensure_database() {  # the dev database; tests create their own
  local db=${POSTGRES_DB:-soc}
  "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname='$db'" | grep -q 1 \
    || "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" "$db"
}

svc_dirs() {  # SVC_DIR and its parents reachable by the service user; only SVC_DIR is its own
  ensure_user
  mkdir -p "$STATE_BASE" "$SVC_DIR/es-logs"
  chmod 755 "$STATE_BASE"
  [ "$(id -u)" = 0 ] && chown "$SVC_USER" "$SVC_DIR" "$SVC_DIR/es-logs"
  chmod 750 "$SVC_DIR"
}

cmd_start() {
  local profile=${1:-dev}
  cmd_install
  mkdir -p "$RUN_DIR"
  svc_dirs
  log "service data and logs: $SVC_DIR"
  start_redis
  start_postgres "$profile"
  start_es "$profile"
}

pidfile() {  # name -> its pid file: SVC_DIR, or RUN_DIR for services started before SVC_DIR existed
  if [ -f "$RUN_DIR/$1.pid" ] && [ ! -f "$SVC_DIR/$1.pid" ]; then echo "$RUN_DIR/$1.pid"; else echo "$SVC_DIR/$1.pid"; fi
}

stop_pidfile() {  # name, pidfile
  [ -f "$2" ] || return 0
  local pid; pid=$(cat "$2")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$2"; log "stopped $1"
}

cmd_stop() {
  [ -f "$RUN_DIR/started" ] || return 0
  while read -r name; do
    case $name in
      es) stop_pidfile elasticsearch "$(pidfile es)" ;;
      redis) stop_pidfile redis "$(pidfile redis)" ;;
      postgres) as_svc "$PG_BIN/pg_ctl" -D "$(cat "$RUN_DIR/pg.datadir")" -m fast -w stop >/dev/null 2>&1 || true
                log "stopped postgresql" ;;
    esac
  done <"$RUN_DIR/started"
  rm -f "$RUN_DIR/started"
}

cmd_restart() {
  local name=$1
  grep -qx "$name" "$RUN_DIR/started" 2>/dev/null || { log "$name was not started by this checkout"; exit 3; }
  case $name in
    es) stop_pidfile elasticsearch "$(pidfile es)"; sleep "${2:-0}"
        sed -i '/^es$/d' "$RUN_DIR/started"; ES_DATA_DIR=$(cat "$RUN_DIR/es.datadir") start_es test ;;
    redis) stop_pidfile redis "$(pidfile redis)"; sed -i '/^redis$/d' "$RUN_DIR/started"; start_redis ;;
    postgres) as_svc "$PG_BIN/pg_ctl" -D "$(cat "$RUN_DIR/pg.datadir")" -l "$SVC_DIR/postgresql.log" -m fast -w restart >/dev/null \
                || die "postgresql did not restart (see $SVC_DIR/postgresql.log)"
              wait_for postgresql "$PG_BIN/pg_isready" -h 127.0.0.1 -p "$PG_PORT" ;;
    *) die "restart takes es, redis or postgres" ;;
  esac
}

cmd_status() {
  for pair in "elasticsearch:$ES_PORT" "redis:$REDIS_PORT" "postgresql:$PG_PORT"; do
    if port_open "${pair#*:}"; then echo "${pair%%:*}: up"; else echo "${pair%%:*}: down"; fi
  done
}

case ${1:-} in
  install) cmd_install ;;
  start) cmd_start "${2:-dev}" ;;
  stop) cmd_stop ;;
  restart) cmd_restart "${2:-}" "${3:-0}" ;;
  status) cmd_status; echo "service data and logs: $SVC_DIR" ;;
  dirs) svc_dirs; echo "$SVC_DIR" ;;
  *) die "usage: $0 install|start [dev|test]|stop|restart NAME|status|dirs" ;;
esac
