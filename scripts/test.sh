#!/usr/bin/env bash
# `make test`: real services with throwaway data, lint, then the whole suite.
# Exits non-zero on any failure; stops what it started.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export SOC_PROFILE=test
# Isolates this run's Redis keys, ES indices and test database from any other.
export SOC_NAMESPACE=${SOC_NAMESPACE:-t$$}

trap 'scripts/services.sh stop' EXIT
scripts/services.sh start test

echo "== lint =="
.venv/bin/ruff check .
.venv/bin/mypy .
echo "== django checks =="
SOC_PROFILE=production DJANGO_SECRET_KEY="$(python3 -c 'import secrets; print(secrets.token_urlsafe(60))')" \
  DJANGO_ALLOWED_HOSTS=soc.example DJANGO_SECRET_KEY_FILE= \
  .venv/bin/python manage.py check --deploy --fail-level WARNING
.venv/bin/python manage.py makemigrations --check --dry-run >/dev/null
echo "== tests =="
.venv/bin/pytest "$@"
