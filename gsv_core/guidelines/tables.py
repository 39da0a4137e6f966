"""Every number of the rule book (shared/guidelines.md), named, with its rule id.

The only place these numbers appear: the rules in the sibling modules read them,
and every reason text takes them as parameters (no number is written into a
reason's English template), so changing a number here changes what the UI says.
"""

from __future__ import annotations

VRAM_ROWS_GB = (6, 8, 12, 16, 22, 24, 32, 40, 80)
SOVITS_MAX_BATCH = (1, 2, 5, 8, 12, 14, 18, 24, 48)                 # B-1
GPT_MAX_BATCH = (1, 2, 4, 7, 10, 11, 16, 21, 44)                    # B-2, DPO off
GPT_MAX_BATCH_DPO = (None, None, 1, 1, 4, 6, 6, 8, 18)              # B-2, DPO on; None = "—"
REFERENCE_SLICE_S = 10.0       # B-1/B-2 tables assume 10-second slices (B-4, Q-4)
MIN_TRAINING_VRAM_GB = 6       # H-1, B-3
MIN_DPO_VRAM_GB = 12           # D-2
BYTES_PER_GB = 1024**3         # B-3: card memory in GB = total bytes / this, rounded to nearest


def card_memory_gb(total_memory_bytes: int) -> int:
    """B-3: memory as vendors label cards, the total rounded to the nearest GB (23.99 → 24)."""
    return round(total_memory_bytes / BYTES_PER_GB)


# H-1: GeForce models that commonly cannot train. Model numbers below the first
# series cannot; within a series, models below its floor cannot; the listed
# (model, memory) pairs cannot at or below that memory.
H1_FIRST_USABLE_SERIES_MODEL = 1000                                 # "before the 10 series"
H1_SERIES_FLOOR_MODEL = {10: 1060, 16: 1660, 20: 2060}              # series -> first usable
H1_UNUSABLE_MODEL_MAX_GB = {3050: 4}                                # "the 3050 4 GB"

DPO_VRAM_FACTOR = 2            # D-1: "more than 2x the VRAM"
DPO_SLOWDOWN_FACTOR = 4        # D-1: "trains about 4x slower"

GPT_EPOCHS_MAX, GPT_EPOCHS_DEFAULT = 20, 10
SOVITS_EPOCHS_MAX, SOVITS_EPOCHS_DEFAULT = 15, 10                   # R-3 locked range
SOVITS_EPOCHS_UNLOCKED_MAX = 100                                    # R-3 unlocked
SOVITS_UNLOCK_DURATION_S = 3600.0                                   # "over 1 hour"
# R-4; the 0.2 floor and 0.05 step are upstream's slider
LR_WEIGHT_MIN, LR_WEIGHT_DEFAULT, LR_WEIGHT_STEP = 0.2, 0.4, 0.05
SAVE_CHECKPOINTS_TARGET = 4    # save_every default: about four checkpoints to compare by ear
LOSS_MEANINGFUL_ROUNDS = 30    # loss curves mean little below about 30 rounds
DATASET_GOOD_LENGTH_S = 30 * 60.0
EMOTION_RECOMMEND_S = 3600.0                                        # E-1
SLICE_MIN_S, SLICE_FLAG_S = 3.0, 15.0
SLICE_STEP_S = 0.5                                                  # Q-4 slider step
SOVITS_DROP_S, GPT_DROP_S = 38.0, 54.0  # upstream silently drops longer clips; we reject
APPLE_CPU_OK_AUDIO_S = 30.0                                         # H-2
# H-2's estimate: how many times slower CPU training is than a 6-12 GB GPU.
# An order of magnitude to set expectations, not a promise; replace with a
# measured figure once bench/ has one for the trainers.
CPU_SLOWDOWN_RANGE = (20, 50)
CPU_SLOWDOWN_GPU_GB = (6, 12)  # ... the GPUs that estimate compares with

# What a dataset summary can plausibly hold (dataset_input). Values outside are
# typing mistakes, refused with a message rather than fed to the rules: no
# voice dataset is 1000 hours, and no slice is longer than an hour.
DATASET_MAX_MINUTES = 60_000.0          # 1000 hours
SLICE_MAX_P95_S = 3600.0
DATASET_MAX_CLIPS = 10_000_000

# the dataset quality report's checks (gsv_core/dataset/quality.py says how each
# measure is taken). Starting points chosen from what the measures give on clean and on
# spoiled speech, not from the rule book; each failed check lists its clips.
QUALITY_CLIP_LEVEL = 0.999            # |sample| at or above this (of full scale) counts as clipped
QUALITY_CLIPPED_FRACTION_MAX = 1e-4   # clipping: more than 1 sample in 10,000 at full scale
QUALITY_LUFS_OUTLIER_DB = 6.0         # loudness_outlier: this far from the median clip (LUFS)
QUALITY_SNR_MIN_DB = 25.0             # noisy: speech level less than this above the noise floor
QUALITY_REVERB_MAX_S = 0.3            # reverberant: the decay-time estimate after offsets above
#   (it reads low beside a true T60 with a close mic: ~0.12 dry, ~0.28 at T60 0.4 s, ~0.37 at 0.6 s)
QUALITY_SILENCE_RATIO_MAX = 0.5       # mostly_silent: more than half of the clip is silence
QUALITY_SILENCE_BELOW_SPEECH_DB = 35.0  # a 10 ms frame this far below the speech level is silence
QUALITY_SILENCE_DBFS = -70.0          # ... and so is any frame quieter than this
QUALITY_CLIP_MIN_S = 1.0              # too_short: under a second a clip holds hardly a word
QUALITY_MIN_SAMPLE_RATE = 32000       # sample_rate: sources below SoVITS's 32 kHz lack its top band
QUALITY_MAX_CHANNELS = 1              # channels: more are averaged to mono (a warning, not a fail)
