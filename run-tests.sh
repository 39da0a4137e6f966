#!/usr/bin/env bash
# One command to set up (first run) and run the whole test suite.
# Arguments go to pytest, e.g. ./run-tests.sh tests/unit -x
set -euo pipefail
cd "$(dirname "$0")"
source scripts/find-python.sh
venv_python="$("$GSV_PYTHON" scripts/ensure_env.py --extras test | tail -n 1)"

# The browser test drives Debian's Chromium (never a downloaded browser), and the
# generated-speech dataset test (tests/integration/test_dataset_must_hold.py) runs
# espeak-ng and sox. Install what is missing when we can (root on Debian), in one
# apt-get; otherwise the tests that need them are skipped and say why.
packages=()
[ -x /usr/bin/chromium ] || packages+=(chromium)
command -v espeak-ng >/dev/null 2>&1 || packages+=(espeak-ng)
command -v sox >/dev/null 2>&1 || packages+=(sox)
if [ "${#packages[@]}" -gt 0 ] && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "[gsv-studio tests] Installing Debian's ${packages[*]} for the tests that use them." >&2
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null; }; then
        echo "[gsv-studio tests] Could not install ${packages[*]}; the tests that need them will be skipped." >&2
    fi
fi

export GRADIO_ANALYTICS_ENABLED=False HF_HUB_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1
"$venv_python" -m ruff check .
exec "$venv_python" -m pytest "$@"
