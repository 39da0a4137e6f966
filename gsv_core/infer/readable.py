"""Whether a text holds anything to speak, and the error that says which lines do not.

Punctuation, emoji and symbols clean to phones too: marks become "." or ",", a character the
cleaner does not know becomes ``UNK`` (or Korean's ``停``). A segment made only of such phones
gives the GPT nothing to say, and it answers with a random babble up to the length limit. So
the engine keeps only segments with at least one spoken phone; when no segment has one, it
raises :func:`nothing_readable`, which names the lines of the text as the user typed them
(1-based, as an editor numbers them). Nothing here loads torch: the Inference tab can ask
before a model is loaded.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from gsv_core.errors import TextError
from gsv_core.text import PolyphoneBackend
from gsv_core.text.symbols import PUNCTUATION, UNK, symbol_to_id

__all__ = ["SILENT_PHONES", "is_spoken", "nothing_readable", "unreadable_lines"]

# Phones that make no speech sound: the marks, the pauses (SP*), ``_``, Japanese pitch marks
# ([ ]), Korean's space and unknown-character phones (空 停), and UNK.
SILENT_PHONES = frozenset((*PUNCTUATION, UNK, "SP", "SP2", "SP3", "_", "[", "]", "空", "停"))
_MAX_LINES_NAMED = 5  # beyond this the error counts the others
_MAX_LINE_CHARS = 30  # a named line is cut to this many characters


@lru_cache(maxsize=1)
def _silent_ids() -> frozenset[int]:
    table = symbol_to_id()
    return frozenset(table[phone] for phone in SILENT_PHONES if phone in table)


def is_spoken(phone_ids: Iterable[int]) -> bool:
    """True when at least one of ``phone_ids`` (v2 symbol ids) is a speech sound."""
    silent = _silent_ids()
    return any(int(i) not in silent for i in phone_ids)


def unreadable_lines(text: str, language_mode: str, readings: str,
                     polyphones: PolyphoneBackend | None = None) -> list[tuple[int, str]]:
    """(1-based line number, line) of each non-blank line of ``text`` with nothing spoken.

    Each line is cut and cleaned alone, as the engine would (without BERT: only phones
    matter), in ``language_mode`` with ``readings``. Costs the text front end once per line,
    so the engine asks only after the whole text turned out unreadable.
    """
    from gsv_core.infer.segments import split_segments
    from gsv_core.text import phones_and_features

    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        segments = split_segments(line, language_mode, "cut0", readings=readings)
        if not any(is_spoken(phones_and_features(segment, language_mode, None,
                                                 polyphones=polyphones,
                                                 readings=readings).phone_ids)
                   for segment in segments):
            found.append((number, line.strip()))
    return found


def _quoted(line: str) -> str:
    cut = line if len(line) <= _MAX_LINE_CHARS else line[:_MAX_LINE_CHARS - 1] + "…"
    return f'"{cut}"'


def nothing_readable(text: str, language_mode: str, readings: str,
                     polyphones: PolyphoneBackend | None = None) -> TextError:
    """The error for a text in which no segment has a spoken phone, naming its lines.

    The lines named are those :func:`unreadable_lines` finds; should cleaning a line alone
    read something the whole text did not, every non-blank line is named instead.
    """
    lines = unreadable_lines(text, language_mode, readings, polyphones) or [
        (number, line.strip()) for number, line in enumerate(text.splitlines(), start=1)
        if line.strip()]
    named = ", ".join(f"line {number} ({_quoted(line)})"
                      for number, line in lines[:_MAX_LINES_NAMED])
    if len(lines) > _MAX_LINES_NAMED:
        named += f" and {len(lines) - _MAX_LINES_NAMED} more lines"
    advice = (f"Type the words to speak in the text's language ({language_mode}): "
              "punctuation, emoji and symbols alone are not spoken. If the text is in "
              "another language, pick that language.")
    return TextError(f"Nothing in the text can be read aloud: {named}.", advice,
                     details=f"language {language_mode}, readings {readings}, "
                             f"{len(text)} characters")
