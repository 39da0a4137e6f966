# Sourced by go-webui.sh and run-tests.sh: sets GSV_PYTHON to a Python 3.10+ or exits.
GSV_PYTHON=""
for candidate in "${PYTHON:-}" python3.13 python3.12 python3.11 python3.10 python3 python; do
    [ -n "$candidate" ] && command -v "$candidate" >/dev/null 2>&1 || continue
    if "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' 2>/dev/null; then
        GSV_PYTHON="$candidate"
        break
    fi
done
if [ -z "$GSV_PYTHON" ]; then
    echo "[gsv-studio setup] Python 3.10 or newer is required: install it from python.org or your package manager, then run this again." >&2
    exit 1
fi
