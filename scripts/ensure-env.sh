#!/usr/bin/env bash
# Create or refresh the project's virtual environment in .venv.
#
# Sourced by go-webui.sh and run-tests.sh. Idempotent: it reinstalls only when
# pyproject.toml (or the extras asked for) changed since the last install, so a
# second launch costs a fraction of a second.
#
# Usage: ensure_env [EXTRAS]      e.g. ensure_env test
set -euo pipefail

GSV_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GSV_VENV="${GSV_VENV:-$GSV_ROOT/.venv}"

_gsv_log() { printf '[gsv-studio setup] %s\n' "$*" >&2; }

_gsv_pick_python() {
    local candidate
    for candidate in "${PYTHON:-}" python3.12 python3.11 python3.10 python3 python; do
        [ -n "$candidate" ] || continue
        command -v "$candidate" >/dev/null 2>&1 || continue
        if "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    _gsv_log "Python 3.10 or newer is required. Install it (https://www.python.org/downloads/) and run this again."
    return 1
}

_gsv_has_nvidia_gpu() {
    command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -q '^GPU'
}

# Install torch before the project so pip never picks a build by accident:
# - NVIDIA GPU: the default CUDA build.
# - no NVIDIA GPU, Linux: a CPU build; first a locally provided wheel when pip
#   can see one (no download at all), else the PyTorch CPU index (a few hundred
#   MB instead of several GB of CUDA libraries).
# - macOS: the default build (CPU + Apple MPS).
_gsv_install_torch() {
    local pip=("$GSV_VENV/bin/python" -m pip)
    if "$GSV_VENV/bin/python" -c 'import torch' 2>/dev/null; then
        return 0
    fi
    if _gsv_has_nvidia_gpu; then
        _gsv_log "NVIDIA GPU found: installing the CUDA build of torch."
        "${pip[@]}" install "torch>=2.1"
        return
    fi
    if [ "$(uname -s)" = "Linux" ]; then
        local probe
        probe="$(mktemp -d)"
        if "${pip[@]}" download --quiet --no-index --no-deps --dest "$probe" "torch==2.13.0" >/dev/null 2>&1; then
            rm -rf "$probe"
            _gsv_log "No NVIDIA GPU: installing the local CPU build of torch 2.13.0."
            "${pip[@]}" install "torch==2.13.0"
            return
        fi
        rm -rf "$probe"
        _gsv_log "No NVIDIA GPU: installing the CPU build of torch."
        if "${pip[@]}" install "torch>=2.1" --index-url https://download.pytorch.org/whl/cpu \
                --extra-index-url https://pypi.org/simple; then
            return
        fi
        _gsv_log "The CPU index was not reachable; installing the default torch build."
    fi
    "${pip[@]}" install "torch>=2.1"
}

ensure_env() {
    local extras="${1:-}"
    local python
    python="$(_gsv_pick_python)"
    if [ ! -x "$GSV_VENV/bin/python" ]; then
        _gsv_log "Creating the virtual environment in $GSV_VENV (first run only)."
        "$python" -m venv "$GSV_VENV"
    fi
    local stamp_file="$GSV_VENV/.gsv-installed"
    local stamp
    stamp="$(cat "$GSV_ROOT/pyproject.toml" | cksum | cut -d' ' -f1)-$extras"
    if [ -f "$stamp_file" ] && [ "$(cat "$stamp_file")" = "$stamp" ]; then
        return 0
    fi
    _gsv_log "Installing dependencies (first run, or pyproject.toml changed): a few minutes."
    "$GSV_VENV/bin/python" -m pip install --quiet --upgrade pip
    _gsv_install_torch
    "$GSV_VENV/bin/python" -m pip install --editable "$GSV_ROOT${extras:+[$extras]}"
    echo "$stamp" > "$stamp_file"
}
