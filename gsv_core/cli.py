"""The ``gsv-studio`` console script.

    gsv-studio [webui options]        the web UI (with the HTTP API on the same port)
    gsv-studio plan ...               the headless training planner
    gsv-studio tts ...                synthesis to a file (``gsv_core/tts_cli.py``)
    gsv-studio api ...                the HTTP API alone (as ``webui.py --api``), port 9880
    gsv-studio slice IN OUT ...       cut recordings at silences (``dataset/slice_cli.py``)
    gsv-studio quality LIST ...       the dataset quality report (``dataset/quality_cli.py``)
    gsv-studio prepare --list L --exp E  format for training (``prepare/cli.py``)
    gsv-studio asr IN_DIR ...         transcribe clips into a .list (``dataset/asr_cli.py``)
    gsv-studio train sovits|gpt --exp E  fine-tune within the guidelines (``train/cli.py``)
    gsv-studio emotion LIST --model DIR  tag each clip's emotion (``emotion/cli.py``)
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["plan"]:
        from gsv_core.plan import main as plan_main

        return plan_main(args[1:])
    if args[:1] == ["tts"]:
        from gsv_core.tts_cli import main as tts_main

        return tts_main(args[1:])
    if args[:1] == ["api"]:
        from gsv_core.api.command import main as api_main

        return api_main(args[1:])
    if args[:1] == ["slice"]:
        from gsv_core.dataset.slice_cli import main as slice_main

        return slice_main(args[1:])
    if args[:1] == ["prepare"]:
        from gsv_core.prepare.cli import main as prepare_main

        return prepare_main(args[1:])
    if args[:1] == ["quality"]:
        from gsv_core.dataset.quality_cli import main as quality_main

        return quality_main(args[1:])
    if args[:1] == ["asr"]:
        from gsv_core.dataset.asr_cli import main as asr_main

        return asr_main(args[1:])
    if args[:1] == ["emotion"]:
        from gsv_core.emotion.cli import main as emotion_main

        return emotion_main(args[1:])
    if args[:1] == ["train"]:
        from gsv_core.train.cli import main as train_main

        return train_main(args[1:])
    import webui

    return webui.main(args)


if __name__ == "__main__":
    sys.exit(main())
