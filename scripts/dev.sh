#!/usr/bin/env bash
# `make dev`: the whole platform with demo data. Ctrl-C stops everything it started.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export SOC_PROFILE=dev
PORT=${SOC_PORT:-8000}
export ES_PORT=${ES_PORT:-9200} REDIS_PORT=${REDIS_PORT:-6379} PG_PORT=${PG_PORT:-5432}
export ELASTICSEARCH_URL=http://127.0.0.1:$ES_PORT REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0 POSTGRES_PORT=$PG_PORT
DEMO_PASSWORD=${SOC_DEMO_PASSWORD:-demo-password-2026}
RUN=.run
PIDS=()

cleanup() {
  trap - EXIT INT TERM
  echo; echo "stopping..."
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  scripts/services.sh stop
}
trap cleanup EXIT INT TERM

scripts/services.sh start dev
if [ -d locale ] && command -v msgfmt >/dev/null; then .venv/bin/python manage.py compilemessages -v 0; fi
.venv/bin/python manage.py migrate --noinput
.venv/bin/python manage.py ensure_search_templates
.venv/bin/python manage.py seed_demo --password "$DEMO_PASSWORD" --collector-secret-file "$RUN/demo-collector.secret"

.venv/bin/uvicorn soc.asgi:application --host 127.0.0.1 --port "$PORT" --log-level warning & PIDS+=($!)
.venv/bin/celery -A soc worker -Q default,detection,ingest,notifications,reports -c 2 -l warning & PIDS+=($!)
.venv/bin/celery -A soc beat -l warning --schedule "$RUN/celerybeat-schedule" & PIDS+=($!)
rm -rf "$RUN/demo" && mkdir -p "$RUN/demo"
.venv/bin/python scripts/demo_replay.py --out "$RUN/demo/auth.log" & PIDS+=($!)
.venv/bin/python -m collectors.agent run --url "http://127.0.0.1:$PORT/api/v1" \
  --secret-file "$RUN/demo-collector.secret" --path "$RUN/demo/*.log" --state-dir "$RUN/demo/state" & PIDS+=($!)

cat <<MSG

  National SOC console:  http://127.0.0.1:$PORT/
  Demo logins (password: $DEMO_PASSWORD):
    lead, analyst, auditor          central SOC
    hni.responder, hni.admin        Hà Nội (sees the demo incident)
    hcm.responder                   Hồ Chí Minh (does not)
  The demo collector replays real sshd lines; an "SSH brute force" incident appears within seconds.
  Health: http://127.0.0.1:$PORT/healthz      Ctrl-C stops everything.

MSG
wait -n "${PIDS[@]}"
