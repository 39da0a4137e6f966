"""How many text segments one GPT decode may batch: the inference row the rule book lacks.

The rule book's batch tables are for training (B-1, B-2). Inference needs a bound too: the
segments of one request are decoded together, sharing the reference, and each one holds a
key/value cache for up to 1500 tokens. We read the GPT training table (B-2, DPO off) as that
bound: a training step on a 10 s slice holds the same sequence's activations *and* their
gradients and optimiser state, so a number of segments that the card trains on, it can
decode. It errs on the safe side (decoding needs several times less), which is what a
default must do on a card that also renders the UI or trains.

- A GPU reads the table at its B-3 row (scaled above 80 GB, as B-3 says).
- On the CPU (and Apple MPS) the model lives in the computer's memory, so the same table is
  read at the row at or below the RAM; no RAM figure means the smallest row (H-2).

The default is the maximum: batching costs nothing in quality (each segment samples on its
own) and the whole request is one decode.
"""

from __future__ import annotations

import math

from gsv_core.guidelines.results import Limit, MemoryBudget, Reason, int_limit
from gsv_core.guidelines.tables import GPT_MAX_BATCH, VRAM_ROWS_GB

__all__ = ["inference_batch_limit"]


def _row_at_or_below(memory_gb: int) -> int | None:
    rows = [row for row in VRAM_ROWS_GB if row <= memory_gb]
    return rows[-1] if rows else None


def inference_batch_limit(budget: MemoryBudget, requested: float | None = None, *,
                          ram_gb: int | None = None) -> Limit:
    """B-2 (GPU) / H-2 (CPU): the most text segments decoded together in one GPT batch.

    Args:
        budget: the inference device's memory (``gpu_memory_budget`` / ``memory_budget``).
        requested: the batch asked for (None: the default, which is the maximum).
        ram_gb: the computer's memory, read instead of the card's when not on a GPU.
    """
    if budget.on_gpu:
        row = budget.row_gb
        if row is None:  # a card under the smallest row: one segment at a time
            binding = Reason("B-2", "Inference on a card under {row} GB: one segment is "
                                    "decoded at a time.", {"row": VRAM_ROWS_GB[0]})
            return int_limit(1, 1, 1, requested, [binding], binding=binding)
        maximum = max(math.floor(GPT_MAX_BATCH[VRAM_ROWS_GB.index(row)] * budget.scale), 1)
        binding = Reason("B-2", "At most {max} text segments are decoded together on a {row} GB "
                                "card: the GPT batch-size table for training, which needs more "
                                "memory than decoding.", {"max": maximum, "row": row})
        return int_limit(1, maximum, maximum, requested, [binding, *budget.reasons],
                         binding=binding)
    memory = ram_gb if ram_gb is not None else VRAM_ROWS_GB[0]
    row = _row_at_or_below(memory) or VRAM_ROWS_GB[0]
    maximum = GPT_MAX_BATCH[VRAM_ROWS_GB.index(row)]
    binding = Reason("H-2", "Inference on the CPU: the model uses the computer's {ram} GB of "
                            "memory, so at most {max} text segments are decoded together (the "
                            "GPT batch-size table at its {row} GB column).",
                     {"ram": memory, "max": maximum, "row": row})
    return int_limit(1, maximum, maximum, requested, [binding], binding=binding)
