"""What the UI and the API import while they start must not load torch (seconds of start-up).

Torch loads with the inference engine, on first use. Run in a fresh interpreter: in this
process other tests have long imported torch.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

LIGHT_MODULES = ["gsv_core.api", "gsv_core.infer", "gsv_core.infer.options",
                 "gsv_core.infer.catalog", "gsv_core.infer.history", "gsv_core.infer.ffmpeg",
                 "gsv_core.infer.audio_io", "gsv_core.infer.lazy"]


@pytest.mark.parametrize("module", LIGHT_MODULES)
def test_importing_does_not_load_torch(module: str) -> None:
    code = (f"import sys, {module}\n"
            "assert 'torch' not in sys.modules, 'torch was imported'\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]


def test_the_lazy_exports_still_resolve() -> None:
    from gsv_core import infer

    assert infer.InferenceOptions.__name__ == "InferenceOptions"
    with pytest.raises(AttributeError):
        _ = infer.NoSuchThing
