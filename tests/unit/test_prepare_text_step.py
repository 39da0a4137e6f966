"""A label with nothing spoken is a clip failure at formatting, as it is at inference."""

from __future__ import annotations

import pytest

from gsv_core.errors import TextError
from gsv_core.prepare.text_step import clean_clip_text


@pytest.mark.parametrize("text", ["。。。", "!?", "……", "   "])
@pytest.mark.parametrize("readings", ["improved", "upstream"])
def test_a_label_of_marks_only_is_refused(text: str, readings: str) -> None:
    with pytest.raises(TextError, match="nothing to read"):
        clean_clip_text("a.wav", text, "zh", readings=readings)


def test_a_label_with_words_and_marks_is_kept() -> None:
    cleaned = clean_clip_text("a.wav", "你好。。。", "zh", readings="improved")
    assert cleaned.phones[-1] == "." and len(cleaned.phones) > 1
