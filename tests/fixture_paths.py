"""Where the shared test fixtures live, and a clean skip when they do not.

The fixtures are read-only files next to the repository
(``<repo>/../shared/fixtures``); tests reference them in place and never copy
them in. A machine without them skips the tests that need them and says which
path was missing, instead of failing with a bare ``FileNotFoundError``.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES_DIR = REPO_ROOT.parent / "shared" / "fixtures"
TINY_DIR = FIXTURES_DIR / "gsv-v2-tiny"
TEXT_DIR = FIXTURES_DIR / "text-v2"
MANIFEST_PATH = FIXTURES_DIR / "gsv-v2-manifest.json"


def _existing_or_skip(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"fixture not found: {path} (the shared fixtures are not on this machine)")
    return path


def tiny_fixture(name: str) -> Path:
    """Path of a file in ``gsv-v2-tiny/`` (e.g. ``"sovits_v2.pth"``), or skip the test."""
    return _existing_or_skip(TINY_DIR / name)


def text_fixture(name: str) -> Path:
    """Path of a file in ``text-v2/`` (e.g. ``"golden.jsonl"``), or skip the test."""
    return _existing_or_skip(TEXT_DIR / name)


def manifest() -> dict:
    """The parameter manifest of the full-size v2 models, or skip the test.

    Keys: ``sovits_v2_generator``, ``sovits_v2_discriminator``, ``gpt_v2``, each
    mapping a state-dict name to its shape (a list of ints).
    """
    return _load_manifest(_existing_or_skip(MANIFEST_PATH))


@lru_cache(maxsize=1)
def _load_manifest(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))
