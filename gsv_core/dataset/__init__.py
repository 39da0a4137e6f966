"""Dataset tools: slicing, ASR, `.list` files, the quality report (one module per job).

Nothing is imported here: the UI must build without torch, so callers import the module
they need (``from gsv_core.dataset.quality import analyse_list``).
"""
