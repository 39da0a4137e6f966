#!/usr/bin/env bash
# One command to set up (first run) and launch GSV Studio in your browser.
# Arguments go to webui.py, e.g. ./go-webui.sh --lang zh_CN --port 9890
set -euo pipefail
cd "$(dirname "$0")"
source scripts/find-python.sh
venv_python="$("$GSV_PYTHON" scripts/ensure_env.py | tail -n 1)"
exec "$venv_python" webui.py "$@"
