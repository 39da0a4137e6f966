#!/usr/bin/env bash
# One command to set up (first run) and launch GSV Studio in your browser.
# Any arguments go to webui.py, e.g. ./go-webui.sh --lang zh_CN --port 9874
set -euo pipefail
cd "$(dirname "$0")"
source scripts/ensure-env.sh
ensure_env
exec .venv/bin/python webui.py "$@"
