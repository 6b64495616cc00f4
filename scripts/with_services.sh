#!/usr/bin/env bash
# Run a command with the services up (dev data), stopping what was started.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
trap 'scripts/services.sh stop' EXIT
scripts/services.sh start dev
"$@"
