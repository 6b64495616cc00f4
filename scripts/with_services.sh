#!/usr/bin/env bash
# Run a command with the services up (dev data), stopping what was started.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
# The services hold dev data: whatever runs here is a dev process unless told otherwise (the default is production).
export SOC_PROFILE=${SOC_PROFILE:-dev}
trap 'scripts/services.sh stop' EXIT
scripts/services.sh start dev
"$@"
