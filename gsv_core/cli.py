"""The ``gsv-studio`` console script: ``gsv-studio [webui options]`` or ``gsv-studio plan ...``."""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["plan"]:
        from gsv_core.plan import main as plan_main

        return plan_main(args[1:])
    import webui

    return webui.main(args)


if __name__ == "__main__":
    sys.exit(main())
