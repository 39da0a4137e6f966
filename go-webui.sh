#!/usr/bin/env bash
# One command to set up (first run) and launch GSV Studio in your browser.
# Arguments go to webui.py, e.g. ./go-webui.sh --lang zh_CN --port 9890
# ./go-webui.sh --dry-run [webui options] prints every step instead and changes nothing.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/find-python.sh
if [ "${1:-}" = "--dry-run" ]; then
    shift
    echo "[go-webui dry run] Python: $GSV_PYTHON" >&2
    venv_python="$("$GSV_PYTHON" scripts/ensure_env.py --dry-run | tail -n 1)"
    echo "[go-webui dry run] would run: $venv_python webui.py $*" >&2
    exit 0
fi
venv_python="$("$GSV_PYTHON" scripts/ensure_env.py | tail -n 1)"
exec "$venv_python" webui.py "$@"
