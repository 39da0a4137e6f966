"""Every UI text key exists in every language file, with the same placeholders."""

from __future__ import annotations

import json
import string
from importlib import resources
from pathlib import Path

import pytest

import gsv_core
from gsv_core.errors import ConfigError
from gsv_core.i18n import (
    I18N_DIR,
    Translator,
    available_languages,
    scan_keys,
    used_keys,
    write_english,
)


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_the_three_languages_are_there() -> None:
    assert {"en_US", "zh_CN", "ja_JP"} <= set(available_languages())


@pytest.mark.parametrize("language", available_languages())
def test_every_key_in_the_code_is_translated(language: str) -> None:
    table = json.loads((I18N_DIR / f"{language}.json").read_text(encoding="utf-8"))
    used = used_keys()
    missing = sorted(used - set(table))
    assert not missing, f"{language}.json lacks {len(missing)} keys (run python -m gsv_core.i18n "
    f"for en_US, then translate): {missing[:10]}"
    for key in used:
        assert table[key].strip(), f"{language}: empty translation for {key!r}"
        assert placeholders(table[key]) == placeholders(key), f"{language}: {key!r}"


@pytest.mark.parametrize("language", available_languages())
def test_no_unused_keys_linger(language: str) -> None:
    table = json.loads((I18N_DIR / f"{language}.json").read_text(encoding="utf-8"))
    unused = sorted(set(table) - used_keys())
    assert not unused, f"{language}.json has keys no code uses: {unused[:10]}"


def test_scanner_finds_the_kinds_of_key_we_use(tmp_path) -> None:
    source = tmp_path / "sample.py"
    source.write_text('t("Plain")\nmark("Marked")\nReason("B-1", "A" if x else "B", {})\n'
                      'ctx.t("Attr {n}", n=1)\nt(variable)\n', encoding="utf-8")
    assert scan_keys([source]) == {"Plain", "Marked", "A", "B", "Attr {n}"}
    assert scan_keys([source], ui=False) == {"Marked", "A", "B"}  # t() is UI-only


def test_translator_formats_and_falls_back_to_english() -> None:
    zh = Translator("zh_CN")
    assert zh("Training") != "Training"
    assert zh("never a key {x}", x=3) == "never a key 3"
    assert set(available_languages()) >= {"en_US", "zh_CN"}


def test_unknown_language_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="fr_FR") as info:
        Translator("fr_FR")
    assert "en_US" in info.value.advice


def test_language_files_are_package_data() -> None:
    # Inside the gsv_core package, so a wheel carries them (tests/integration/
    # test_install_wheel.py installs one and starts the translated UI).
    package = Path(gsv_core.__file__).resolve().parent
    assert Path(str(I18N_DIR)).resolve().is_relative_to(package)
    assert (resources.files("gsv_core") / "assets" / "i18n" / "zh_CN.json").is_file()


def test_write_english_writes_every_used_key_into_the_folder(tmp_path) -> None:
    count = write_english(tmp_path)
    table = json.loads((tmp_path / "en_US.json").read_text(encoding="utf-8"))
    assert count == len(table) and set(table) == used_keys()
    assert all(key == value for key, value in table.items())
