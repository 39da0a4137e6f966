"""Streaming within a segment with the tiny SoVITS fixture (float32, CPU): the streamed audio
against a whole render of the same tokens, noise and style.

What "the same" means (``gsv_core/infer/stream.py``): a whole render is ``decode`` at
noise_scale 0, or, with noise, the prior of ``decode`` plus the same per-frame noise
(:class:`FrameNoise`) through the flow and HiFiGAN, built here from the model's own modules.
A chunk is encoded from the tokens up to its end, so it equals the whole render of that
prefix exactly; only the last chunk sees every token. The fixture's weights are random,
which makes its attention to later tokens stronger than a trained model's: the bound on the
difference to the whole render is set from it (measured max 0.12 per token, rms ratio ~0.06).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import torch

from gsv_core.infer.stream import (
    EDGE_GUARD_FRAMES,
    FrameNoise,
    StreamedChunk,
    quiet_token_similarity,
    stream_segment_chunks,
)
from gsv_core.models.checkpoint import load_sovits
from tests.fixture_paths import tiny_fixture

pytestmark = pytest.mark.usefixtures("no_tf32")

HOP = 640
TOKEN_SAMPLES = 2 * HOP
TOKENS = 60
MIN_CHUNK = 12
SEAM_HALF_WIDTH = 64  # samples each side of a seam checked for a click


@pytest.fixture(scope="module")
def sovits():
    return load_sovits(tiny_fixture("sovits_v2.pth"))


@pytest.fixture(scope="module")
def segment(sovits, reference: dict) -> dict:
    tokens = torch.randint(0, 1024, (TOKENS,), generator=torch.Generator().manual_seed(1))
    phones = reference["sovits.decode.text"]
    with torch.no_grad():
        ge = sovits.style_embedding([reference["sovits.decode.refer_spec"]])
    return {"tokens": tokens, "phones": phones, "ge": ge}


def _whole(sovits, segment: dict, tokens: torch.Tensor | None = None, *, speed: float = 1.0,
           noise: FrameNoise | None = None, noise_scale: float = 0.0) -> np.ndarray:
    tokens = segment["tokens"] if tokens is None else tokens
    out = sovits.decode(tokens.view(1, 1, -1), segment["phones"], ge=segment["ge"],
                        noise_scale=0.0, speed=speed)
    if noise is None:
        return out.wav[0, 0].numpy()
    z_p = out.m_p + noise.frames(0, out.m_p.shape[2]) * torch.exp(out.logs_p) * noise_scale
    with torch.no_grad():
        z = sovits.flow(z_p, out.y_mask, g=out.ge, reverse=True)
        return sovits.dec(z * out.y_mask, g=out.ge)[0, 0].numpy()


def _stream(sovits, segment: dict, tokens=None, **kwargs) -> list[StreamedChunk]:
    kwargs.setdefault("noise_scale", 0.0)
    kwargs.setdefault("min_chunk_length", MIN_CHUNK)
    tokens = segment["tokens"] if tokens is None else tokens
    return list(stream_segment_chunks(sovits, tokens, segment["phones"], ge=segment["ge"],
                                      **kwargs))


def _seams(chunks: list[StreamedChunk]) -> np.ndarray:
    return np.cumsum([len(c.audio) for c in chunks])[:-1]


def _noise(seed: int = 5) -> FrameNoise:
    return FrameNoise(32, torch.Generator().manual_seed(seed), torch.device("cpu"),
                      torch.float32)


def _away_from_seams(length: int, seams: np.ndarray, margin: int) -> np.ndarray:
    keep = np.ones(length, dtype=bool)
    for seam in seams:
        keep[max(0, seam - margin):seam + margin] = False
    return keep


@pytest.mark.parametrize("speed", [1.0, 1.25, 0.8])
def test_streamed_audio_is_as_long_as_the_whole(sovits, segment, speed: float) -> None:
    chunks = _stream(sovits, segment, speed=speed)
    assert len(chunks) > 3
    assert [c.final for c in chunks] == [False] * (len(chunks) - 1) + [True]
    assert all(c.audio.dtype == np.float32 and c.audio.ndim == 1 for c in chunks)
    total = sum(len(c.audio) for c in chunks)
    assert total == len(_whole(sovits, segment, speed=speed))
    if speed == 1.0:
        assert total == TOKENS * TOKEN_SAMPLES


@pytest.mark.parametrize("noise_scale", [0.0, 0.5])
def test_streamed_audio_matches_the_whole_away_from_seams(sovits, segment,
                                                          noise_scale: float) -> None:
    chunks = _stream(sovits, segment, noise=_noise(), noise_scale=noise_scale)
    streamed = np.concatenate([c.audio for c in chunks])
    whole = _whole(sovits, segment, noise=_noise(), noise_scale=noise_scale)
    seams = _seams(chunks)
    away = _away_from_seams(len(whole), seams, (2 + EDGE_GUARD_FRAMES) * HOP)
    error = np.abs(streamed - whole)
    rms_ratio = np.sqrt(np.mean(error[away] ** 2) / np.mean(whole[away] ** 2))
    assert rms_ratio < 0.15
    assert error[away].max() < 0.25
    # the last chunk has seen every token: past its cross-fade it is the whole render
    last = seams[-1] + 4 * HOP
    np.testing.assert_allclose(streamed[last:], whole[last:], atol=1e-5, rtol=0)


def test_each_chunk_is_the_whole_render_of_its_prefix(sovits, segment) -> None:
    """Left context and slicing are exact: a chunk (past its fade-in) equals ``decode`` of
    the tokens up to its end. Fails when a frame is off, or with DECODER_CONTEXT_FRAMES 4
    (error 5e-4)."""
    chunks = _stream(sovits, segment, overlap_length=2)
    start = 0
    for index, chunk in enumerate(chunks[:-1]):
        prefix = _whole(sovits, segment, segment["tokens"][: MIN_CHUNK * (index + 1)])
        fade = 0 if index == 0 else 4 * HOP
        np.testing.assert_allclose(chunk.audio[fade:],
                                   prefix[start + fade:start + len(chunk.audio)],
                                   atol=1e-5, rtol=0)
        start += len(chunk.audio)


@pytest.mark.parametrize(("overlap_length", "speed"), [(2, 1.0), (4, 1.0), (2, 1.25)])
def test_no_seam_steps_more_than_the_whole_render(sovits, segment, overlap_length: int,
                                                  speed: float) -> None:
    chunks = _stream(sovits, segment, overlap_length=overlap_length, speed=speed,
                     noise=_noise(), noise_scale=0.5)
    streamed = np.concatenate([c.audio for c in chunks])
    whole = _whole(sovits, segment, speed=speed, noise=_noise(), noise_scale=0.5)
    fade = round(overlap_length * 2 / speed) * HOP
    steps = np.abs(np.diff(streamed))
    for seam in _seams(chunks):
        assert steps[seam - SEAM_HALF_WIDTH:seam + fade + SEAM_HALF_WIDTH].max() <= (
            1.05 * np.abs(np.diff(whole)).max())


def test_seams_do_not_click(sovits, segment) -> None:
    """Across a seam the stream goes from chunk k's version A of the audio (the whole render
    of its prefix) to chunk k+1's version B: ``s = A + w (B - A)``. A click is ``w`` jumping
    (a cut jumps from 0 to 1 in one sample). Read back from the stream, ``w`` must follow the
    raised cosine over the N-sample fade, whose steepest step is pi / (2 N)."""
    overlap_length = 2
    chunks = _stream(sovits, segment, overlap_length=overlap_length, noise=_noise(),
                     noise_scale=0.5)
    streamed = np.concatenate([c.audio for c in chunks])
    fade = overlap_length * 2 * HOP
    phase = (np.arange(-SEAM_HALF_WIDTH, fade + SEAM_HALF_WIDTH) + 0.5) / fade
    raised_cosine = np.sin(np.clip(phase, 0, 1) * np.pi / 2) ** 2
    checked = 0
    for index, seam in enumerate(_seams(chunks)[:-1]):  # the last seam joins two whole renders
        a, b = (_whole(sovits, segment, segment["tokens"][: MIN_CHUNK * (index + k)],
                       noise=_noise(), noise_scale=0.5)[seam - SEAM_HALF_WIDTH:
                                                        seam + fade + SEAM_HALF_WIDTH]
                for k in (1, 2))
        part = streamed[seam - SEAM_HALF_WIDTH:seam + fade + SEAM_HALF_WIDTH]
        known = np.abs(b - a) > 0.005  # where the two versions differ enough to tell
        weight = (part - a)[known] / (b - a)[known]
        np.testing.assert_allclose(weight, raised_cosine[known], atol=0.02, rtol=0)
        checked += int(known.sum())
    assert checked > fade  # the versions differ: a cut here would click
    assert np.abs(np.diff(raised_cosine)).max() <= np.pi / (2 * fade)


def test_token_arrival_does_not_change_the_audio(sovits, segment) -> None:
    """Progressive tokens (as GPT makes them) give the audio of the whole tensor."""
    tokens = segment["tokens"]
    sizes = [1, 3, 7, 2, 20, 5, 11, 11]
    pieces, at = [], 0
    for size in sizes:
        pieces.append(tokens[at:at + size])
        at += size
    assert at == TOKENS
    given = _stream(sovits, segment, noise_scale=0.5, generator=torch.Generator().manual_seed(9))
    arriving = _stream(sovits, segment, iter(pieces), noise_scale=0.5,
                       generator=torch.Generator().manual_seed(9))
    assert [len(c.audio) for c in arriving] == [len(c.audio) for c in given]
    for a, b in zip(arriving, given, strict=True):
        assert np.array_equal(a.audio, b.audio)


def test_chunks_come_before_the_tokens_end(sovits, segment) -> None:
    consumed = []

    def one_by_one() -> Iterator[torch.Tensor]:
        for index in range(TOKENS):
            consumed.append(index)
            yield segment["tokens"][index:index + 1]

    stream = stream_segment_chunks(sovits, one_by_one(), segment["phones"], ge=segment["ge"],
                                   noise_scale=0.0, min_chunk_length=MIN_CHUNK)
    first = next(stream)
    assert not first.final
    assert len(consumed) == MIN_CHUNK
    stream.close()


def test_same_seed_same_chunks_and_reference_specs_equal_style(sovits, segment,
                                                               reference: dict) -> None:
    def run(seed: int, **style) -> np.ndarray:
        chunks = stream_segment_chunks(sovits, segment["tokens"], segment["phones"],
                                       noise_scale=0.5, min_chunk_length=MIN_CHUNK,
                                       generator=torch.Generator().manual_seed(seed), **style)
        return np.concatenate([c.audio for c in chunks])

    by_ge = run(2, ge=segment["ge"])
    assert np.array_equal(by_ge, run(2, ge=segment["ge"]))
    assert not np.array_equal(by_ge, run(3, ge=segment["ge"]))
    by_specs = run(2, refer_specs=[reference["sovits.decode.refer_spec"]])
    np.testing.assert_allclose(by_specs, by_ge, atol=1e-5, rtol=0)


def test_quiet_borders_cut_the_segment_at_quiet_tokens(sovits, segment) -> None:
    """Mode 2 with the GPT fixture's embedding: every token but the chosen quiet pair is made
    unlike silence, so the only cut is between the two tokens of that pair."""
    from gsv_core.models.checkpoint import load_gpt

    gpt = load_gpt(tiny_fixture("gpt_v2.ckpt"))
    similarity = quiet_token_similarity(gpt.ar_audio_embedding.word_embeddings.weight)
    tokens = segment["tokens"].clone()
    unlike = int(similarity[:1024].argmin())
    tokens[:] = unlike
    tokens[[30, 31]] = int(similarity[:1024].argmax())
    chunks = _stream(sovits, segment, tokens, quiet_similarity=similarity)
    assert len(chunks) == 2
    assert len(chunks[0].audio) == (31 * 2 - EDGE_GUARD_FRAMES - 2 * 2) * HOP


def test_quiet_borders_do_not_depend_on_how_tokens_arrive(sovits, segment) -> None:
    """Mode 2 decides each cut as a token arrives (upstream checks every GPT step): tokens one
    by one, in blocks of 8 (the graphed GPT's read-backs) or all at once cut alike. Deciding
    on all pending tokens at once would pick the segment's best quiet pair instead."""
    from gsv_core.models.checkpoint import load_gpt

    gpt = load_gpt(tiny_fixture("gpt_v2.ckpt"))
    similarity = quiet_token_similarity(gpt.ar_audio_embedding.word_embeddings.weight)
    tokens = segment["tokens"]
    assert int((similarity[tokens] > 0).sum()) > 10  # quiet pairs to choose between

    def run(size: int) -> list[np.ndarray]:
        pieces = [tokens[at:at + size] for at in range(0, TOKENS, size)]
        return [c.audio for c in _stream(sovits, segment, iter(pieces),
                                         quiet_similarity=similarity, min_chunk_length=8)]

    one_by_one, blocks, whole = run(1), run(8), run(TOKENS)
    assert len(one_by_one) > 3
    for other in (blocks, whole):
        assert [len(a) for a in other] == [len(a) for a in one_by_one]
        assert all(np.array_equal(a, b) for a, b in zip(other, one_by_one, strict=True))
