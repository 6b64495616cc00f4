#!/usr/bin/env bash
# `make dev`: the whole platform with demo data. Runs until Ctrl-C, or until a core process (web, worker,
# beat) dies, which it names; the demo's helpers (log replay, collectors, story) may finish on their own.
# Ctrl-C stops everything it started.
#
# Overridable: SOC_PORT (web, 8000), ES_PORT / REDIS_PORT / PG_PORT, SOC_DEV_DIR (this run's credentials,
# demo logs, collector state and helper logs; .run/dev), SOC_DEMO_DAYS (days of history, 30),
# SOC_DEMO_RATE (live lines per second and province, 10), SOC_DEMO_LINES (ordinary live lines per province, 600).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export SOC_PROFILE=dev
PORT=${SOC_PORT:-8000}
export ES_PORT=${ES_PORT:-9200} REDIS_PORT=${REDIS_PORT:-6379} PG_PORT=${PG_PORT:-5432}
export ELASTICSEARCH_URL=http://127.0.0.1:$ES_PORT REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0 POSTGRES_PORT=$PG_PORT
DEMO_PASSWORD=${SOC_DEMO_PASSWORD:-demo-password-2026}
DEV=${SOC_DEV_DIR:-$ROOT/.run/dev}
DAYS=${SOC_DEMO_DAYS:-30}
PY=.venv/bin/python
declare -A CORE=() HELPERS=()  # name -> pid

say() { printf '[dev] %s\n' "$*"; }

cleanup() {
  trap - EXIT INT TERM
  echo; say "stopping..."
  local pid
  for pid in "${CORE[@]}" "${HELPERS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  scripts/services.sh stop
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

core() { local name=$1; shift; "$@" & CORE[$name]=$!; }
helper() {  # name, command...: its output in $DEV/logs/<name>.log
  local name=$1; shift; "$@" >"$DEV/logs/$name.log" 2>&1 & HELPERS[$name]=$!
}
narrator() {  # name, command...: a helper that speaks on the terminal (a few lines)
  local name=$1; shift; "$@" & HELPERS[$name]=$!
}

supervise() {  # until a core process exits (returns its name's status); a helper that ends is reported
  local name rc
  while true; do
    for name in "${!CORE[@]}"; do
      kill -0 "${CORE[$name]}" 2>/dev/null && continue
      rc=0; wait "${CORE[$name]}" || rc=$?
      say "core process '$name' exited (status $rc): stopping the platform"
      return 1
    done
    for name in "${!HELPERS[@]}"; do
      kill -0 "${HELPERS[$name]}" 2>/dev/null && continue
      rc=0; wait "${HELPERS[$name]}" || rc=$?
      say "$name finished (status $rc): the platform keeps running"
      [ "$rc" = 0 ] || [ ! -f "$DEV/logs/$name.log" ] || tail -n 5 "$DEV/logs/$name.log" | sed 's/^/[dev]   /'
      unset "HELPERS[$name]"
    done
    sleep 1
  done
}

scripts/services.sh start dev
if [ -d locale ] && command -v msgfmt >/dev/null; then $PY manage.py compilemessages -v 0; fi
$PY manage.py migrate --noinput
$PY manage.py ensure_search_templates
rm -rf "$DEV" && mkdir -p "$DEV/logs" "$DEV/demo" "$DEV/state"
$PY manage.py seed_demo --password "$DEMO_PASSWORD" --collector-secret-file "$DEV/secrets/seed.secret"
$PY manage.py load_playbooks  # the starter playbooks (playbooks/*.yml): every demo incident gets their tasks
$PY manage.py demo_setup --secrets "$DEV/secrets" --days "$DAYS"
rm -f "$DEV/secrets/seed.secret"  # seed_demo's collector is replaced by demo_setup's

# HTTP and WebSockets on one port, as in production (soc/serve.py; SOC_WEB_WORKERS processes, one per core).
core web $PY -m soc.serve --host 127.0.0.1 --port "$PORT"
core worker .venv/bin/celery -A soc worker -Q default,detection,ingest,notifications,reports -c 2 -l warning
core beat .venv/bin/celery -A soc beat -l warning --schedule "$DEV/celerybeat-schedule"

# The demo: six provinces' log files (history, then a live replay with attacks), one collector agent per
# province shipping them through the ingest API, and the story (readiness, publication, request for action).
narrator replay $PY -u scripts/demo_replay.py --dir "$DEV/demo" --days "$DAYS" \
  --rate "${SOC_DEMO_RATE:-10}" --lines "${SOC_DEMO_LINES:-600}"
for secret in "$DEV"/secrets/*.secret; do
  code=$(basename "$secret" .secret)
  helper "agent-$code" $PY -m collectors.agent run --url "http://127.0.0.1:$PORT/api/v1" --secret-file "$secret" \
    --path "$DEV/demo/$code/*" --state-dir "$DEV/state/$code"
done
for _ in $(seq 1 100); do [ -f "$DEV/demo/history.json" ] && break; sleep 0.1; done
narrator story $PY -u manage.py demo_story --history "$DEV/demo/history.json"

cat <<MSG

  National SOC console:  http://127.0.0.1:$PORT/
  Demo logins (password: $DEMO_PASSWORD):
    lead, analyst, auditor          central SOC
    hni.responder, hni.admin        Hà Nội (acknowledges the demo's incidents late)
    hcm.responder                   Hồ Chí Minh (answers the demo's request for action)
  Demo collectors in HNI, HCM, DNG, HPG, CTO and HUE replay real logs with attacks: incidents of several
  kinds open within a minute; readiness for the last $DAYS days is computed and published within about two,
  then today's (CTO's firewall clock runs ahead; HNI acknowledges late, HCM at once).
  What to look at: README.md, first section.   Demo logs: $DEV/logs/
  Health: http://127.0.0.1:$PORT/healthz      Ctrl-C stops everything.

MSG
supervise
