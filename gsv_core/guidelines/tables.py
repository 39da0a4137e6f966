"""Every number of the rule book (shared/guidelines.md), named, with its rule id.

The only place these numbers appear: the rules in the sibling modules read them.
"""

from __future__ import annotations

VRAM_ROWS_GB = (6, 8, 12, 16, 22, 24, 32, 40, 80)
SOVITS_MAX_BATCH = (1, 2, 5, 8, 12, 14, 18, 24, 48)                 # B-1
GPT_MAX_BATCH = (1, 2, 4, 7, 10, 11, 16, 21, 44)                    # B-2, DPO off
GPT_MAX_BATCH_DPO = (None, None, 1, 1, 4, 6, 6, 8, 18)              # B-2, DPO on; None = "—"
REFERENCE_SLICE_S = 10.0       # B-1/B-2 tables assume 10-second slices (B-4, Q-4)
MIN_TRAINING_VRAM_GB = 6       # H-1, B-3
MIN_DPO_VRAM_GB = 12           # D-2

GPT_EPOCHS_MAX, GPT_EPOCHS_DEFAULT = 20, 10
SOVITS_EPOCHS_MAX, SOVITS_EPOCHS_DEFAULT = 15, 10                   # R-3 locked range
SOVITS_EPOCHS_UNLOCKED_MAX = 100                                    # R-3 unlocked
SOVITS_UNLOCK_DURATION_S = 3600.0                                   # "over 1 hour"
# R-4; the 0.2 floor and 0.05 step are upstream's slider
LR_WEIGHT_MIN, LR_WEIGHT_DEFAULT, LR_WEIGHT_STEP = 0.2, 0.4, 0.05
SAVE_CHECKPOINTS_TARGET = 4    # save_every default: about four checkpoints to compare by ear
DATASET_GOOD_LENGTH_S = 30 * 60.0
EMOTION_RECOMMEND_S = 3600.0                                        # E-1
SLICE_MIN_S, SLICE_FLAG_S = 3.0, 15.0
SOVITS_DROP_S, GPT_DROP_S = 38.0, 54.0  # upstream silently drops longer clips; we reject
APPLE_CPU_OK_AUDIO_S = 30.0                                         # H-2
# H-2's estimate: how many times slower CPU training is than a 6-12 GB GPU.
# An order of magnitude to set expectations, not a promise; replace with a
# measured figure once bench/ has one for the trainers.
CPU_SLOWDOWN_RANGE = (20, 50)
