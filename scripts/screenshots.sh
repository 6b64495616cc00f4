#!/usr/bin/env bash
# `make screenshots`: every main page of the console as every role (lead, analyst, auditor, provincial responder,
# provincial admin), at 1280 px and at a 390 px phone, as PNGs in .run/screenshots/ (ignored by git) with an
# index.html, so a reviewer can look at the whole console without signing in. The pages are the browser test's
# walk (tests/browser/test_every_page.py) with SOC_SCREENSHOTS set; the services start as for `make test`
# (throwaway data, this run's own namespace); services this run started stop at the end, others keep running.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
OUT=${SOC_SCREENSHOTS:-$ROOT/.run/screenshots}
export SOC_PROFILE=test SOC_NAMESPACE=${SOC_NAMESPACE:-shots$$} SOC_SCREENSHOTS=$OUT
export ES_PORT=${ES_PORT:-9200} REDIS_PORT=${REDIS_PORT:-6379} PG_PORT=${PG_PORT:-5432}
export ELASTICSEARCH_URL=http://127.0.0.1:$ES_PORT REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0 POSTGRES_PORT=$PG_PORT

need=()
command -v chromium >/dev/null || need+=(chromium)
command -v msgfmt >/dev/null || need+=(gettext)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]}"
  apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null
fi

# services.sh stops everything on its "started" list, whoever started it: stop at the end only when this run
# started them all (nothing was listed before), never services another run or a developer is using.
if [ "$ES_PORT:$REDIS_PORT:$PG_PORT" = 9200:6379:5432 ]; then STARTED=${SOC_RUN_DIR:-$ROOT/.run}/started
else STARTED=${SOC_RUN_DIR:-$ROOT/.run/ports-$ES_PORT-$REDIS_PORT-$PG_PORT}/started; fi
if [ -s "$STARTED" ]; then
  echo "services already started from this checkout ($(tr '\n' ' ' <"$STARTED")): reusing them, leaving them running"
else
  trap 'scripts/services.sh stop' EXIT
fi
scripts/services.sh start test
.venv/bin/python manage.py compilemessages -v 0
rm -rf "$OUT" && mkdir -p "$OUT"
.venv/bin/pytest tests/browser/test_every_page.py -q -k "every_page_of_the_menu or on_a_phone"

# One page to look through them: by role, the desktop pages then the phone ones.
.venv/bin/python - "$OUT" <<'PY'
import html, sys
from pathlib import Path
out = Path(sys.argv[1])
shots = sorted(out.glob("*.png"), key=lambda p: (p.stem.split("--")[0], p.stem.endswith("--390"), p.stem))
rows, role = [], None
for shot in shots:
    who = shot.stem.split("--")[0]
    if who != role:
        role = who
        rows.append(f"<h2>{html.escape(who)}</h2>")
    rows.append(f'<figure><a href="{shot.name}"><img src="{shot.name}" loading="lazy" width="320"></a>'
                f"<figcaption>{html.escape(shot.stem)}</figcaption></figure>")
style = "figure{display:inline-block;vertical-align:top;margin:6px}img{border:1px solid #ccc}"
(out / "index.html").write_text(f"<!doctype html><meta charset=utf-8><title>SOC console</title><style>{style}"
                                f"</style><h1>SOC console, every page as every role</h1>{''.join(rows)}")
PY
echo "$(ls "$OUT"/*.png | wc -l) screenshots in $OUT (open $OUT/index.html)"
