"""The pure parts of streaming within a segment: chunk borders (modes 2 and 3), the seam
cross-fade, the per-frame prior noise and the argument checks. The model-backed behaviour is
in ``tests/integration/test_infer_stream.py``."""

from __future__ import annotations

import math

import pytest
import torch

from gsv_core.errors import ConfigError
from gsv_core.infer.stream import (
    QUIET_TOKEN,
    FrameNoise,
    cross_fade,
    next_chunk_length,
    quiet_token_similarity,
    stream_segment_chunks,
)

VOCAB = 1025


def _quiet_similarity(quiet_ids: list[int]) -> torch.Tensor:
    """Similarity 0.9 for the given ids, -0.5 for every other token."""
    similarity = torch.full((VOCAB,), -0.5)
    similarity[quiet_ids] = 0.9
    return similarity


# -- chunk borders ----------------------------------------------------------------------------

@pytest.mark.parametrize("count", [0, 1, 15])
def test_fixed_chunks_wait_for_the_minimum(count: int) -> None:
    assert next_chunk_length(torch.arange(count), 16) is None


@pytest.mark.parametrize("count", [16, 17, 40])
def test_fixed_chunks_take_exactly_the_minimum(count: int) -> None:
    assert next_chunk_length(torch.arange(count), 16) == 16


def test_quiet_chunks_cut_after_a_pair_of_quiet_tokens() -> None:
    tokens = torch.full((24,), 7)
    tokens[[19, 20]] = QUIET_TOKEN
    # the pair starting at 19 scores highest: the chunk is tokens 0..19
    assert next_chunk_length(tokens, 16, _quiet_similarity([QUIET_TOKEN])) == 20


def test_quiet_chunks_wait_two_tokens_past_the_minimum() -> None:
    tokens = torch.full((17,), QUIET_TOKEN)
    similarity = _quiet_similarity([QUIET_TOKEN])
    assert next_chunk_length(tokens, 16, similarity) is None
    assert next_chunk_length(torch.cat([tokens, tokens[:1]]), 16, similarity) is not None


def test_quiet_chunks_wait_when_no_quiet_pair_exists() -> None:
    tokens = torch.full((40,), 7)
    tokens[[5, 12, 30]] = QUIET_TOKEN  # lone quiet tokens: each pair scores 0.9 - 1 < 0
    assert next_chunk_length(tokens, 16, _quiet_similarity([QUIET_TOKEN])) is None


def test_quiet_chunks_never_cut_below_the_minimum() -> None:
    tokens = torch.full((30,), 7)
    tokens[[3, 4]] = QUIET_TOKEN  # a quiet pair too early to cut at
    similarity = _quiet_similarity([QUIET_TOKEN])
    assert next_chunk_length(tokens, 16, similarity) is None


def test_an_early_quiet_pair_does_not_block_a_later_cut() -> None:
    """Upstream's argmax over all pending tokens would pick the early pair and never cut."""
    tokens = torch.full((30,), 7)
    tokens[[3, 4]] = QUIET_TOKEN
    tokens[[22, 23]] = QUIET_TOKEN
    assert next_chunk_length(tokens, 16, _quiet_similarity([QUIET_TOKEN])) == 23


def test_quiet_similarity_is_the_cosine_to_the_quiet_token() -> None:
    embedding = torch.zeros(VOCAB, 4)
    embedding[:, 1] = 1.0
    embedding[QUIET_TOKEN] = torch.tensor([0.0, 2.0, 0.0, 0.0])
    embedding[3] = torch.tensor([0.0, 0.0, 5.0, 0.0])
    embedding[4] = torch.tensor([0.0, -1.0, 0.0, 0.0])
    similarity = quiet_token_similarity(embedding)
    assert similarity.shape == (VOCAB,)
    torch.testing.assert_close(similarity[[QUIET_TOKEN, 0, 3, 4]],
                               torch.tensor([1.0, 1.0, 0.0, -1.0]))


# -- the seam cross-fade ----------------------------------------------------------------------

def _tone(start: int, count: int, offset: float = 0.0) -> torch.Tensor:
    """A 200 Hz tone at 32 kHz from sample ``start``, plus a constant ``offset``."""
    n = torch.arange(start, start + count, dtype=torch.float32)
    return 0.5 * torch.sin(2 * math.pi * 200 * n / 32000) + offset


def test_cross_fade_joins_two_differing_versions_without_a_click() -> None:
    """The previous chunk's version of the overlap is off by 0.3; a plain cut would step."""
    overlap, seam = 2560, 10000
    before = _tone(0, seam + overlap, offset=0.3)
    head = _tone(seam, 6000)
    joined = torch.cat([before[:seam], cross_fade(before[seam:], head)])
    natural_step = (_tone(0, 16000).diff().abs().max())
    cut = torch.cat([before[:seam], head])
    assert (cut.diff().abs().max()) > 10 * natural_step  # the click the fade removes
    assert joined.diff().abs().max() <= 1.01 * natural_step + 0.3 * math.pi / overlap
    assert joined.shape == (seam + 6000,)
    torch.testing.assert_close(joined[seam + overlap:], head[overlap:])


def test_cross_fade_keeps_the_level_of_equal_versions() -> None:
    """Gains sum to 1: an equal-power fade would swell equal signals by up to 41 %."""
    head = _tone(0, 4000)
    torch.testing.assert_close(cross_fade(head[:1000].clone(), head), head)


def test_cross_fade_without_overlap_is_the_head() -> None:
    head = _tone(0, 100)
    assert torch.equal(cross_fade(head[:0], head), head)


# -- prior noise ------------------------------------------------------------------------------

def test_frame_noise_does_not_depend_on_how_frames_are_asked_for() -> None:
    def noise() -> FrameNoise:
        return FrameNoise(8, torch.Generator().manual_seed(3), torch.device("cpu"),
                          torch.float32)

    whole = noise().frames(0, 700)
    pieces = noise()
    parts = [pieces.frames(a, b) for a, b in [(0, 10), (6, 300), (290, 700)]]
    assert whole.shape == (1, 8, 700)
    torch.testing.assert_close(torch.cat([parts[0], parts[1][:, :, 4:], parts[2][:, :, 10:]],
                                         dim=2), whole, rtol=0, atol=0)
    other = FrameNoise(8, torch.Generator().manual_seed(4), torch.device("cpu"), torch.float32)
    assert not torch.equal(other.frames(0, 700), whole)


# -- argument checks --------------------------------------------------------------------------

@pytest.mark.parametrize(("overlap", "minimum", "speed", "field"), [
    (-1, 16, 1.0, "overlap_length"),
    (2, 2, 1.0, "min_chunk_length"),
    (4, 3, 1.0, "min_chunk_length"),
    (2, 16, 0.0, "speed"),
])
def test_bad_arguments_name_the_field(overlap: int, minimum: int, speed: float,
                                      field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        next(stream_segment_chunks(None, torch.arange(5), torch.zeros(1, 3, dtype=torch.long),
                                   ge=torch.zeros(1, 4, 1), speed=speed,
                                   overlap_length=overlap, min_chunk_length=minimum))
