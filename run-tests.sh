#!/usr/bin/env bash
# One command to set up (first run) and run the whole test suite.
# Arguments go to pytest, e.g. ./run-tests.sh tests/unit -x
set -euo pipefail
cd "$(dirname "$0")"
source scripts/find-python.sh
venv_python="$("$GSV_PYTHON" scripts/ensure_env.py --extras test | tail -n 1)"

# The browser test drives Debian's Chromium (never a downloaded browser). Install it
# when we can (root on Debian); otherwise that one test is skipped and says why.
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "[gsv-studio tests] Installing Debian's chromium for the browser test." >&2
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }; then
        echo "[gsv-studio tests] Could not install chromium; the browser test will be skipped." >&2
    fi
fi

export GRADIO_ANALYTICS_ENABLED=False HF_HUB_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1
"$venv_python" -m ruff check .
exec "$venv_python" -m pytest "$@"
