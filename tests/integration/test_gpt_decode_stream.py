"""The GPT decode as a generator (``decode_steps``, ``stream_tokens``) on the tiny fixture,
eager on the CPU: the same tokens as ``generate``/``generate_batch``, whatever the blocks;
what a stop or an early close leaves behind; the upstream ``semantic_for_sovits`` edge.

The graphed (CUDA) path of the same generator is tested in ``test_gpt_cuda_graph.py``.
"""

from __future__ import annotations

import pytest
import torch
from torch.utils.hooks import RemovableHandle

from gsv_core.errors import ConfigError
from gsv_core.models.checkpoint import load_gpt
from gsv_core.models.gpt import Text2SemanticDecoder
from gsv_core.models.gpt_decode import (
    DecodeStopped,
    decode_steps,
    generate,
    generate_batch,
    stream_tokens,
)
from gsv_core.models.gpt_sampling import SamplingOptions
from tests.fixture_paths import tiny_fixture

pytestmark = pytest.mark.usefixtures("no_tf32")
SCENARIOS = ("infer", "infer_noprompt", "infer_eos")
SAMPLED = SamplingOptions(top_k=50, top_p=0.9, temperature=1.2, early_stop_tokens=30)
LENGTHS = (40, 23, 31)


@pytest.fixture(scope="module")
def model() -> Text2SemanticDecoder:
    return load_gpt(tiny_fixture("gpt_v2.ckpt"), "cpu", torch.float32)


def _inputs(reference: dict, scenario: str) -> list:
    key = f"gpt.{scenario}."
    prompt = reference.get(key + "prompt")
    return [reference[key + "phones"][0], reference[key + "bert"][0],
            None if prompt is None else prompt[0]]


def _greedy(reference: dict) -> SamplingOptions:
    return SamplingOptions(top_k=1, repetition_penalty=reference["gpt.infer.repetition_penalty"],
                           early_stop_tokens=reference["gpt.infer.early_stop_num"])


def _batch(reference: dict) -> tuple[list, list, torch.Tensor]:
    phones, bert = reference["gpt.infer.phones"][0], reference["gpt.infer.bert"][0]
    return ([phones[:n] for n in LENGTHS], [bert[:, :n] for n in LENGTHS],
            reference["gpt.infer_eos.prompt"][0])


def _count_steps(model: Text2SemanticDecoder) -> tuple[list[int], RemovableHandle]:
    """One entry per decoding step (the output layer runs once a step)."""
    calls: list[int] = []
    handle = model.ar_predict_layer.register_forward_hook(lambda *_: calls.append(1))
    return calls, handle


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_streamed_pieces_are_the_tokens_of_generate(model, reference: dict,
                                                    scenario: str) -> None:
    args = _inputs(reference, scenario)
    options = _greedy(reference)
    whole = generate(model, *args, options)
    stream = stream_tokens(model, *args, options)
    pieces = list(stream)
    assert [p.dim() for p in pieces] == [1] * len(pieces)
    assert all(p.dtype == torch.long for p in pieces)
    assert len(pieces) == whole.steps  # eager: one piece a step
    assert torch.cat(pieces).tolist() == whole.tokens.tolist()
    assert torch.cat(pieces).tolist() == reference[f"gpt.{scenario}.generated"].tolist()
    result = stream.result
    assert result is not None
    assert (result.idx, result.eos, result.steps) == (whole.idx, whole.eos, whole.steps)
    assert stream.steps == whole.steps
    if whole.eos:  # EOS adds no token: the last piece is empty
        assert pieces[-1].numel() == 0
    assert next(stream, None) is None


def test_semantic_for_sovits_edge_early_stop_drops_the_first_token(model,
                                                                   reference: dict) -> None:
    """Upstream passes y[-idx:] to SoVITS; after an EOS stop that is every new token, after
    the early stop with a reference it drops the first, which a stream has long handed out."""
    options = _greedy(reference)
    eos = generate(model, *_inputs(reference, "infer_eos"), options)
    early = generate(model, *_inputs(reference, "infer"), options)
    assert eos.eos and eos.semantic_for_sovits.tolist() == eos.tokens.tolist()
    assert not early.eos
    assert early.semantic_for_sovits.tolist() == early.tokens[1:].tolist()
    streamed = torch.cat(list(stream_tokens(model, *_inputs(reference, "infer"), options)))
    assert streamed.tolist() == early.tokens.tolist()


@pytest.mark.parametrize("block_steps", [1, 4, 7, 1000])
def test_sampled_stream_equals_generate_for_any_block_and_leaves_the_rng_alike(
        model, reference: dict, block_steps: int) -> None:
    args = _inputs(reference, "infer")
    generator = torch.Generator().manual_seed(3)
    whole = generate(model, *args, SAMPLED, generator)
    after_whole = torch.rand(4, generator=generator)
    generator = torch.Generator().manual_seed(3)
    stream = stream_tokens(model, *args, SAMPLED, generator, block_steps=block_steps)
    pieces = list(stream)
    assert torch.cat(pieces).tolist() == whole.tokens.tolist()
    # every piece but the last holds block_steps tokens
    assert [p.numel() for p in pieces[:-1]] == [block_steps] * (len(pieces) - 1)
    assert torch.equal(torch.rand(4, generator=generator), after_whole)


@pytest.mark.parametrize("block_steps", [1, 5])
def test_batch_progress_is_prefixes_and_ends_with_generate_batch(model, reference: dict,
                                                                 block_steps: int) -> None:
    phones, bert, prompt = _batch(reference)
    options = SamplingOptions(top_k=20, temperature=1.3, early_stop_tokens=40)
    together = generate_batch(model, phones, bert, prompt, options,
                              torch.Generator().manual_seed(2))
    seen = list(decode_steps(model, phones, bert, prompt, options,
                             torch.Generator().manual_seed(2), block_steps=block_steps))
    assert [p.done for p in seen] == [False] * (len(seen) - 1) + [True]
    steps = [p.steps for p in seen]
    assert steps == sorted(steps) and all(s % block_steps == 0 for s in steps[:-1])
    final = seen[-1]
    for b, expected in enumerate(together):
        result = final.results[b]
        assert result is not None and result.tokens.tolist() == expected.tokens.tolist()
        assert (result.idx, result.eos, result.steps) == (expected.idx, expected.eos,
                                                          expected.steps)
        for progress in seen:
            known = progress.tokens[b].tolist()
            assert known == expected.tokens.tolist()[:len(known)]  # final, never revised
            if progress.results[b] is None:
                assert len(known) == progress.steps
            else:  # set from the block in which the sentence stopped
                assert progress.steps >= expected.steps
    assert len({r.steps for r in together}) > 1  # the sentences stop at different steps


def test_should_stop_ends_the_decode_after_that_block(model, reference: dict) -> None:
    args = _inputs(reference, "infer")
    options = _greedy(reference)
    full = generate(model, *args, options)
    asked = []

    def after_five() -> bool:
        asked.append(1)
        return len(asked) >= 5

    calls, handle = _count_steps(model)
    try:
        with pytest.raises(DecodeStopped) as stopped:
            generate_batch(model, [args[0]], [args[1]], args[2], options, should_stop=after_five)
    finally:
        handle.remove()
    assert len(asked) == 5
    assert stopped.value.progress.steps == 5 == len(calls) < full.steps
    assert stopped.value.progress.tokens[0].tolist() == full.tokens[:5].tolist()
    assert stopped.value.progress.results == (None,)


def test_never_stopping_should_stop_changes_nothing(model, reference: dict) -> None:
    phones, bert, prompt = _batch(reference)
    options = SamplingOptions(top_k=1, early_stop_tokens=40)
    plain = generate_batch(model, phones, bert, prompt, options)
    asked = generate_batch(model, phones, bert, prompt, options, should_stop=lambda: False)
    assert [r.tokens.tolist() for r in plain] == [r.tokens.tolist() for r in asked]


def test_closing_early_stops_the_steps_and_leaves_the_rng_after_the_last_block(
        model, reference: dict) -> None:
    args = _inputs(reference, "infer")
    # a decode that ends by itself after 6 steps draws what 6 streamed steps draw
    six_steps = SamplingOptions(top_k=50, temperature=1.2, early_stop_tokens=5)
    generator = torch.Generator().manual_seed(4)
    short = generate(model, *args, six_steps, generator)
    expected_next = torch.rand(4, generator=generator)
    assert short.steps == 6

    generator = torch.Generator().manual_seed(4)
    calls, handle = _count_steps(model)
    try:
        stream = stream_tokens(model, *args, SAMPLED, generator, block_steps=2)
        pieces = [next(stream) for _ in range(3)]
        stream.close()
        assert next(stream, None) is None  # closed: no more pieces, no more steps
    finally:
        handle.remove()
    assert len(calls) == 6 and stream.result is None
    assert torch.cat(pieces).tolist() == short.tokens.tolist()
    assert torch.equal(torch.rand(4, generator=generator), expected_next)


def test_blocks_run_in_decode_modes_and_the_consumer_keeps_its_own(model,
                                                                   reference: dict) -> None:
    """no_grad and the attention-kernel choice hold inside a block only; buffers made under
    inference mode stay writable when a later block is pulled outside it."""
    inside: list[tuple[bool, bool]] = []
    handle = model.ar_predict_layer.register_forward_hook(lambda *_: inside.append(
        (torch.is_grad_enabled(), torch.backends.cuda.cudnn_sdp_enabled())))
    try:
        blocks = decode_steps(model, [_inputs(reference, "infer")[0]],
                              [_inputs(reference, "infer")[1]], None, _greedy(reference))
        with torch.inference_mode():
            first = next(blocks)
        outside = []
        for _ in blocks:  # grad mode on, inference mode off, here
            outside.append((torch.is_grad_enabled(), torch.backends.cuda.cudnn_sdp_enabled()))
    finally:
        handle.remove()
    assert first.steps == 1 and len(outside) == 60
    assert set(inside) == {(False, False)}
    assert set(outside) == {(True, True)}


def test_bad_arguments_fail_at_the_call(model, reference: dict) -> None:
    phones, bert, prompt = _inputs(reference, "infer")
    with pytest.raises(ConfigError, match="block_steps"):
        decode_steps(model, [phones], [bert], prompt, _greedy(reference), block_steps=0)
    with pytest.raises(ConfigError, match="do not line up"):
        stream_tokens(model, phones, bert[:, :5], prompt, _greedy(reference))
    with pytest.raises(ConfigError, match="CUDA"):
        stream_tokens(model, phones, bert, prompt, _greedy(reference), cuda_graph=True)
