"""What the Dataset tab's "Clean up first (optional)" controls need from the library.

The tab only lays the controls out (``tabs/dataset/slicer.py``); turning their values into
``CleanupOptions`` (where kept recordings go, what an empty model box means) lives here,
with the rest of the logic, in the library.
"""

from __future__ import annotations

import os

from gsv_core.dataset.denoise import DEFAULT_STRENGTH
from gsv_core.dataset.slice_job import CleanupOptions, default_cleaned_dir
from gsv_core.workspace import Workspace

__all__ = ["cleanup_from_values"]


def cleanup_from_values(workspace: Workspace, input_path: str | os.PathLike[str],
                        denoise: bool, strength: float | None, separate_model: str | None,
                        keep_cleaned: bool) -> CleanupOptions:
    """The clean-up settings as the tab shows them. Kept recordings go to
    ``output/cleanup_opt/<input name>/``; an empty model box means no separation.

    Raises:
        ConfigError: the strength is out of range (names the field).
    """
    model = (separate_model or "").strip() or None
    active = bool(denoise) or model is not None
    keep = default_cleaned_dir(workspace, input_path) if keep_cleaned and active else None
    return CleanupOptions(denoise=bool(denoise),
                          denoise_strength=DEFAULT_STRENGTH if strength is None else strength,
                          separate_model=model, keep_dir=keep)

