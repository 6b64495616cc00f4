#!/usr/bin/env bash
# `make test`: real services with throwaway data, lint, then the whole suite.
# Exits non-zero on any failure; stops what it started.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export SOC_PROFILE=test
# Isolates this run's Redis keys, ES indices and test database from any other.
export SOC_NAMESPACE=${SOC_NAMESPACE:-t$$}

# The services' ports (overridable, e.g. to run beside a dev stack) and the URLs that follow.
export ES_PORT=${ES_PORT:-9200} REDIS_PORT=${REDIS_PORT:-6379} PG_PORT=${PG_PORT:-5432}
export ELASTICSEARCH_URL=http://127.0.0.1:$ES_PORT REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0 POSTGRES_PORT=$PG_PORT

# Test-only tools from Debian: the browser for Playwright, gettext for the
# translations, util-linux's logger as a real syslog client, systemd's journal tools.
need=()
command -v chromium >/dev/null || need+=(chromium)
command -v msgfmt >/dev/null || need+=(gettext)
command -v logger >/dev/null || need+=(bsdutils)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)  # Vietnamese in PDFs
command -v pdftotext >/dev/null || need+=(poppler-utils)  # the PDF tests read the text back (tests/incidents)
# Real journal files for the journald input's tests (journalctl comes with it).
[ -x /lib/systemd/systemd-journal-remote ] && command -v journalctl >/dev/null || need+=(systemd-journal-remote)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]}"
  apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null
fi

trap 'scripts/services.sh stop' EXIT
# Fault tests may restart the services this run started (and only those: services.sh restart exits 3 otherwise).
export SOC_TEST_OWNS_SERVICES=1
scripts/services.sh start test
if [ -d locale ]; then .venv/bin/python manage.py compilemessages -v 0; fi

echo "== lint =="
.venv/bin/ruff check .
.venv/bin/mypy .
.venv/bin/lint-imports  # the layer contracts in .importlinter (docs/architecture.md)
echo "== django checks =="
SOC_PROFILE=production DJANGO_SECRET_KEY="$(python3 -c 'import secrets; print(secrets.token_urlsafe(60))')" \
  DJANGO_ALLOWED_HOSTS=soc.example \
  .venv/bin/python manage.py check --deploy --fail-level WARNING
.venv/bin/python manage.py makemigrations --check --dry-run >/dev/null
echo "== tests =="
.venv/bin/pytest "$@"
