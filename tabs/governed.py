"""Gradio components whose value reaches the handler unjudged, for the guideline engine.

Gradio's own ``Slider.preprocess`` and ``Number.preprocess`` judge a value against the range
the browser was last sent: a typed 99 raises "Value 99 is greater than maximum value 14", an
emptied box a TypeError ("Could not preprocess input component"). Both reach the user as a
toast while the handler never runs, so nothing clamps and nothing explains. These subclasses
pass the value on (None when empty or not a number) and the guideline engine clamps it and
says why. ``is_template`` makes Gradio render them with its own slider and number frontends
(as it does for ``gr.ClearButton``), and their API info is the parent's.

Gradio writes a stub (``governed.pyi``) beside any module that defines a component; the
committed stub is exactly what it writes, so importing this module changes no file.
"""

from __future__ import annotations

import math

import gradio as gr


class GovernedSlider(gr.Slider):
    """A slider for a guideline-governed value (see the module docstring).

    Its initial value is None, so the browser's ↺ button, which restores the value the
    slider was first rendered with, sends None: the engine answers with the *current*
    default inside the *current* range.
    """

    is_template = True

    def preprocess(self, payload: object) -> float | None:
        return raw_number(payload)

    def postprocess(self, value: float | None) -> float | None:
        return None if value is None else super().postprocess(value)


class GovernedNumber(gr.Number):
    """A number box for a value the engine judges (see the module docstring).

    Gradio's number frontend shows an empty value (None) as 0 when it first renders, which
    reads as "measured: 0"; an unknown value is rendered as an empty string instead, which
    the box shows empty (with its placeholder) and sends back as "" → None.
    """

    is_template = True

    def preprocess(self, payload: object) -> float | None:
        return raw_number(payload)

    def postprocess(self, value: float | None) -> float | str | None:
        return "" if value is None else super().postprocess(value)


def raw_number(payload: object) -> float | None:
    """What a number box holds, unjudged: a finite number, or None for empty or not a number."""
    if payload is None or isinstance(payload, bool):
        return None
    try:
        number = float(payload)  # the browser sends numbers; the API may send text
    except (TypeError, ValueError):
        return None
    if not math.isfinite(number):
        return None
    return int(number) if number.is_integer() else number  # messages quote "-5", not "-5.0"
