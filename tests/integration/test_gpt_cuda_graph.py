"""The fixed-shape GPT decode step (CPU) and its CUDA-graph replay against the eager step.

The first tests run the fixed-shape step eagerly on CPU: same logits as the eager step,
padded phones included. The rest need CUDA and compare whole decodes, graph vs eager:
greedy fixture tokens in fp32 and fp16, sampling with a generator, a padded batch.
"""

from __future__ import annotations

import pytest
import torch

from gsv_core.errors import ConfigError
from gsv_core.models import gpt_decode, gpt_fused_step
from gsv_core.models.checkpoint import load_gpt
from gsv_core.models.gpt import (
    Text2SemanticDecoder,
    joint_attention_mask,
    left_align,
    text_key_mask,
)
from gsv_core.models.gpt_cuda_graph import GraphedDecodeStep, static_bias, static_step
from gsv_core.models.gpt_decode import generate, generate_batch
from gsv_core.models.gpt_fused_step import fused_step
from gsv_core.models.gpt_graph_sampling import SamplerBuffers, seen_mask, static_sample
from gsv_core.models.gpt_sampling import SamplingOptions, sample_next
from tests.fixture_paths import tiny_fixture

pytestmark = pytest.mark.usefixtures("no_tf32")
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
SCENARIOS = ("infer", "infer_noprompt", "infer_eos")
STEPS = 12


def _prefilled(model: Text2SemanticDecoder, reference: dict, lengths: tuple[int, ...],
               cache_len: int) -> tuple[list[tuple[torch.Tensor, torch.Tensor]], torch.Tensor,
                                        int]:
    """Caches after a prefill of text (left-padded to the longest) + the reference prompt."""
    phones, bert = reference["gpt.infer.phones"][0], reference["gpt.infer.bert"][0]
    prompt = reference["gpt.infer.prompt"][0]
    text_len = max(lengths)
    ids = torch.stack([torch.nn.functional.pad(phones[:n], (0, text_len - n)) for n in lengths])
    feats = torch.stack([torch.nn.functional.pad(bert[:, :n], (0, text_len - n))
                         for n in lengths])
    lens = torch.tensor(lengths)
    text = left_align(model.embed_text(ids, feats), lens)  # [B, Tx, D]
    prompt_ids = prompt.unsqueeze(0).expand(len(lengths), -1)
    prefix = torch.cat([text, model.embed_audio(prompt_ids)], dim=1)
    valid = torch.cat([text_key_mask(lens, text_len),
                       torch.ones(len(lengths), cache_len - text_len, dtype=torch.bool)], dim=1)
    heads, dim = model.config.num_heads, model.config.hidden_dim
    shape = (len(lengths), heads, cache_len, dim // heads)
    caches = [(torch.zeros(shape), torch.zeros(shape)) for _ in model.h.layers]
    prompt_valid = torch.ones(len(lengths), prompt.shape[0], dtype=torch.bool)
    model.h(prefix, joint_attention_mask(valid[:, :text_len], prompt_valid), caches, 0)
    return caches, valid, text_len


@pytest.mark.parametrize("lengths", [(40,), (40, 23, 31)])
def test_fixed_shape_step_equals_eager_step(lengths: tuple[int, ...], reference: dict) -> None:
    model = load_gpt(tiny_fixture("gpt_v2.ckpt"), "cpu", torch.float32)
    prompt_len = reference["gpt.infer.prompt"].shape[1]
    cache_len = max(lengths) + prompt_len + STEPS + 5  # spare slots must stay hidden
    batch = len(lengths)
    with torch.no_grad():
        eager_caches, valid, text_len = _prefilled(model, reference, lengths, cache_len)
        fixed_caches = [(k.clone(), v.clone()) for k, v in eager_caches]
        prefix_len = text_len + prompt_len
        history = torch.randint(0, 1024, (batch, prompt_len + STEPS))
        bias = static_bias(valid, prefix_len, model.config.num_heads, torch.float32)
        positions = torch.zeros(1, dtype=torch.long)
        for step in range(STEPS):
            pos = prefix_len + step
            token = history[:, prompt_len + step:prompt_len + step + 1]
            x = model.embed_audio(token, prompt_len + step)
            eager_mask = valid[:, :pos + 1].view(batch, 1, 1, pos + 1)
            eager = model.ar_predict_layer(model.h(x, eager_mask, eager_caches, pos)[:, -1])
            positions.fill_(pos)
            fixed = static_step(model, fixed_caches, history, bias, positions, text_len)
            torch.testing.assert_close(fixed, eager, rtol=1e-5, atol=1e-5)
    opened = bias[:, :, 0] == 0  # [B, H, L]
    assert opened[:, 0, :prefix_len + STEPS].equal(valid[:, :prefix_len + STEPS])
    assert not opened[:, :, prefix_len + STEPS:].any()


def test_asking_for_a_graph_on_cpu_is_an_error(reference: dict) -> None:
    model = load_gpt(tiny_fixture("gpt_v2.ckpt"), "cpu", torch.float32)
    with pytest.raises(ConfigError, match="CUDA"):
        generate(model, reference["gpt.infer.phones"][0], reference["gpt.infer.bert"][0],
                 None, SamplingOptions(top_k=1, early_stop_tokens=5), cuda_graph=True)


def _greedy(reference: dict, scenario: str) -> tuple[list, SamplingOptions]:
    key = f"gpt.{scenario}."
    prompt = reference.get(key + "prompt")
    args = [reference[key + "phones"][0].cuda(), reference[key + "bert"][0].cuda(),
            None if prompt is None else prompt[0].cuda()]
    options = SamplingOptions(top_k=1, repetition_penalty=reference["gpt.infer.repetition_penalty"],
                              early_stop_tokens=reference["gpt.infer.early_stop_num"])
    return args, options


@needs_cuda
@pytest.mark.parametrize("weights", [torch.float32, torch.float16])
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_graph_decode_equals_eager_decode(scenario: str, weights: torch.dtype,
                                          reference: dict) -> None:
    model = load_gpt(tiny_fixture("gpt_v2.ckpt"), "cuda", weights)
    args, options = _greedy(reference, scenario)
    eager = generate(model, *args, options, cuda_graph=False)
    graphed = generate(model, *args, options, cuda_graph=True)
    assert graphed.tokens.tolist() == eager.tokens.tolist()
    assert (graphed.idx, graphed.eos, graphed.steps) == (eager.idx, eager.eos, eager.steps)
    if weights == torch.float32:
        expected = reference[f"gpt.{scenario}.generated"].tolist()
        assert graphed.tokens.tolist() == expected
        assert graphed.steps == reference[f"gpt.{scenario}.steps"]


@needs_cuda
def test_graph_is_the_default_on_cuda(monkeypatch: pytest.MonkeyPatch, reference: dict) -> None:
    recorded = []

    class Counting(GraphedDecodeStep):
        def _record(self) -> torch.Tensor:
            recorded.append(self.bias.shape)
            return super()._record()

    monkeypatch.setattr(gpt_decode, "GraphedDecodeStep", Counting)
    model = load_gpt(tiny_fixture("gpt_v2.ckpt"), "cuda", torch.float32)
    args, options = _greedy(reference, "infer")
    result = generate(model, *args, options)
    assert result.steps > 1 and len(recorded) == 1  # one recording per call, not per step


@needs_cuda
def test_graph_sampling_with_generator_matches_eager(reference: dict) -> None:
    model = load_gpt(tiny_fixture("gpt_v2.ckpt"), "cuda", torch.float32)
    args, _ = _greedy(reference, "infer")
    options = SamplingOptions(top_k=50, top_p=0.9, temperature=1.2, early_stop_tokens=40)

    def run(seed: int, graph: bool) -> list[int]:
        generator = torch.Generator("cuda").manual_seed(seed)
        return generate(model, *args, options, generator, cuda_graph=graph).tokens.tolist()

    first = run(1, True)
    assert first == run(1, True) == run(1, False)
    assert first != run(2, True)


@needs_cuda
def test_graph_batch_with_padded_phones_equals_eager(reference: dict) -> None:
    model = load_gpt(tiny_fixture("gpt_v2.ckpt"), "cuda", torch.float32)
    phones, bert = reference["gpt.infer.phones"][0].cuda(), reference["gpt.infer.bert"][0].cuda()
    prompt = reference["gpt.infer_eos.prompt"][0].cuda()
    lengths = (40, 23, 31)
    options = SamplingOptions(top_k=1, early_stop_tokens=40)
    inputs = ([phones[:n] for n in lengths], [bert[:, :n] for n in lengths], prompt, options)
    eager = generate_batch(model, *inputs, cuda_graph=False)
    graphed = generate_batch(model, *inputs, cuda_graph=True)
    alone = [generate(model, phones[:n], bert[:, :n], prompt, options, cuda_graph=True)
             for n in lengths]
    for a, b, c in zip(eager, graphed, alone, strict=True):
        assert a.tokens.tolist() == b.tokens.tolist() == c.tokens.tolist()
        assert (a.idx, a.eos, a.steps) == (b.idx, b.eos, b.steps) == (c.idx, c.eos, c.steps)


@pytest.mark.parametrize("eos_allowed", [True, False])
@pytest.mark.parametrize("options", [
    SamplingOptions(),
    SamplingOptions(top_k=50, top_p=0.8, temperature=0.7, repetition_penalty=1.6),
    SamplingOptions(top_k=0, top_p=1.0, repetition_penalty=1.0),
])
def test_fixed_shape_sampling_equals_sample_next(options: SamplingOptions,
                                                 eos_allowed: bool) -> None:
    """The graph's sampling step draws the eager loop's tokens and EOS flags, step by step."""
    batch, vocab, prompt_len, text_len, steps = 3, 1025, 20, 7, 30
    eos = vocab - 1
    torch.manual_seed(3)
    start = torch.randint(0, eos, (batch, prompt_len + 1))  # reference + step 0's token
    eager_history = torch.zeros(batch, prompt_len + steps, dtype=torch.long)
    eager_history[:, :prompt_len + 1] = start
    buffers = SamplerBuffers(
        raw_logits=torch.empty(batch, vocab), history=eager_history.clone(),
        seen=seen_mask(start, vocab), stops=torch.zeros(steps, batch, dtype=torch.bool),
        positions=torch.zeros(1, dtype=torch.long), text_len=text_len, prompt_len=prompt_len)
    eager_rng, fixed_rng = (torch.Generator().manual_seed(11) for _ in range(2))
    for idx in range(1, steps):
        raw = torch.randn(batch, vocab) * 4
        raw[:, eos] += 6 * (idx % 3 == 0)  # make EOS win now and then
        logits = raw.clone() if eos_allowed else raw.clone()[:, :-1]
        token = sample_next(logits, eager_history[:, :prompt_len + idx], options, eager_rng)
        eager_history[:, prompt_len + idx] = token[:, 0]
        eager_stop = (token[:, 0] == eos) | (logits.argmax(dim=-1) == eos)
        buffers.raw_logits.copy_(raw)
        buffers.positions.fill_(text_len + prompt_len + idx - 1)
        static_sample(buffers, options, eos_allowed, eos, fixed_rng)
        assert buffers.stops[idx].equal(eager_stop)
    assert buffers.history.equal(eager_history)
    assert buffers.seen.equal(seen_mask(eager_history, vocab))
    assert bool(buffers.stops.any()) == eos_allowed


@needs_cuda
@pytest.mark.parametrize("own_generator", [True, False])
def test_graph_decode_leaves_the_generator_where_eager_does(own_generator: bool,
                                                            reference: dict) -> None:
    """Steps queued past the EOS (flags are read back in blocks) must not use up RNG draws."""
    model = load_gpt(tiny_fixture("gpt_v2.ckpt"), "cuda", torch.float32)
    args, options = _greedy(reference, "infer_eos")

    def run(graph: bool) -> tuple[list[int], list[float]]:
        torch.cuda.manual_seed(5)
        generator = torch.Generator("cuda").manual_seed(5) if own_generator else None
        result = generate(model, *args, options, generator, cuda_graph=graph)
        after = torch.rand(4, device="cuda", generator=generator).tolist()
        return result.tokens.tolist(), after

    eager, graphed = run(False), run(True)
    assert graphed == eager
    assert len(eager[0]) + gpt_decode.STOP_CHECK_STEPS < options.early_stop_tokens  # EOS stop


@needs_cuda
@pytest.mark.parametrize("check_every", [1, 3, 64])
def test_graph_batch_stops_equal_eager_for_any_read_back_block(
        check_every: int, monkeypatch: pytest.MonkeyPatch, reference: dict) -> None:
    monkeypatch.setattr(gpt_decode, "STOP_CHECK_STEPS", check_every)
    model = load_gpt(tiny_fixture("gpt_v2.ckpt"), "cuda", torch.float32)
    phones, bert = reference["gpt.infer.phones"][0].cuda(), reference["gpt.infer.bert"][0].cuda()
    prompt = reference["gpt.infer_eos.prompt"][0].cuda()
    lengths = (40, 23, 31, 12)
    options = SamplingOptions(top_k=20, temperature=1.3, early_stop_tokens=60)
    inputs = ([phones[:n] for n in lengths], [bert[:, :n] for n in lengths], prompt, options)
    eager = generate_batch(model, *inputs, torch.Generator("cuda").manual_seed(2),
                           cuda_graph=False)
    graphed = generate_batch(model, *inputs, torch.Generator("cuda").manual_seed(2),
                             cuda_graph=True)
    for a, b in zip(eager, graphed, strict=True):
        assert a.tokens.tolist() == b.tokens.tolist()
        assert (a.idx, a.eos, a.steps) == (b.idx, b.eos, b.steps)


@needs_cuda
@pytest.mark.parametrize("attention_programs", [0, 8, 128])  # 0: one program per head
@pytest.mark.parametrize("norm_in_linear", [True, False])
@pytest.mark.parametrize("weights", [torch.float32, torch.bfloat16])
def test_fused_step_equals_fixed_shape_step(weights: torch.dtype, norm_in_linear: bool,
                                            attention_programs: int,
                                            monkeypatch: pytest.MonkeyPatch,
                                            reference: dict) -> None:
    """The Triton step (one attention kernel over the written slots, LayerNorm inside the
    next linear or on its own) gives static_step's logits and cache, padded phones included."""
    pytest.importorskip("triton")
    monkeypatch.setattr(gpt_fused_step, "NORM_IN_LINEAR_MAX_ROWS", 8 if norm_in_linear else 0)
    monkeypatch.setattr(gpt_fused_step, "ATTENTION_PROGRAMS", attention_programs)
    monkeypatch.setattr(gpt_fused_step, "ATTENTION_MIN_SPLITS", 2)
    for name in ("ATTENTION_BLOCK_SLOTS", "ATTENTION_SPLIT_BLOCK_SLOTS"):
        monkeypatch.setattr(gpt_fused_step, name, 16)  # several blocks in each program
    model = load_gpt(tiny_fixture("gpt_v2.ckpt"), "cpu", torch.float32)
    prompt_len = reference["gpt.infer.prompt"].shape[1]
    lengths = (40, 23, 31)
    cache_len = max(lengths) + prompt_len + STEPS + 300  # more slots than one kernel block
    with torch.no_grad():
        caches, valid, text_len = _prefilled(model, reference, lengths, cache_len)
    model = model.cuda().to(weights)
    plain = [(k.cuda().to(weights), v.cuda().to(weights)) for k, v in caches]
    fused = [(k.clone(), v.clone()) for k, v in plain]
    valid = valid.cuda()
    prefix_len = text_len + prompt_len
    history = torch.randint(0, 1024, (len(lengths), prompt_len + STEPS), device="cuda")
    bias = static_bias(valid, prefix_len, model.config.num_heads, weights)
    positions = torch.zeros(1, dtype=torch.long, device="cuda")
    tol = {torch.float32: 1e-4, torch.bfloat16: 5e-2}[weights]
    with torch.no_grad():
        for step in range(STEPS):
            positions.fill_(prefix_len + step)
            expected = static_step(model, plain, history, bias, positions, text_len)
            got = fused_step(model, fused, history, valid.to(torch.uint8), positions, text_len)
            scale = float(expected.float().abs().max())
            assert float((got.float() - expected.float()).abs().max()) <= tol * scale
    for expected_kv, got_kv in zip(plain, fused, strict=True):
        for expected, got in zip(expected_kv, got_kv, strict=True):
            torch.testing.assert_close(got.float(), expected.float(), rtol=tol, atol=tol)


@needs_cuda
def test_graph_stream_gives_eager_tokens_in_read_back_blocks(reference: dict) -> None:
    """The graphed decode hands tokens out per flag read-back: step 0 alone, then blocks of
    STOP_CHECK_STEPS, the same tokens as the eager stream and as generate."""
    from gsv_core.models.gpt_decode import stream_tokens

    model = load_gpt(tiny_fixture("gpt_v2.ckpt"), "cuda", torch.float32)
    args, options = _greedy(reference, "infer")
    graphed = stream_tokens(model, *args, options, cuda_graph=True)
    pieces = list(graphed)
    eager = generate(model, *args, options, cuda_graph=False)
    assert torch.cat(pieces).tolist() == eager.tokens.tolist()
    sizes = [p.numel() for p in pieces]
    assert sizes[0] == 1 and len(sizes) > 3
    assert sizes[1:-1] == [gpt_decode.STOP_CHECK_STEPS] * (len(sizes) - 2)
    assert graphed.result is not None
    assert (graphed.result.idx, graphed.result.eos, graphed.result.steps) == (
        eager.idx, eager.eos, eager.steps)


@needs_cuda
@pytest.mark.parametrize("own_generator", [True, False])
def test_closing_a_graph_stream_early_leaves_the_generator_where_eager_does(
        own_generator: bool, reference: dict) -> None:
    """Steps queued past the last block handed out have drawn their samples; closing the
    stream undoes those draws, so the generator is where the eager loop leaves it."""
    from gsv_core.models.gpt_decode import stream_tokens

    model = load_gpt(tiny_fixture("gpt_v2.ckpt"), "cuda", torch.float32)
    args, _ = _greedy(reference, "infer")
    options = SamplingOptions(top_k=50, top_p=0.9, temperature=1.2, early_stop_tokens=60)

    def run(graph: bool, steps: int | None) -> tuple[list[int], int, list[float]]:
        torch.cuda.manual_seed(7)
        generator = torch.Generator("cuda").manual_seed(7) if own_generator else None
        stream = stream_tokens(model, *args, options, generator, cuda_graph=graph)
        pieces = []
        for piece in stream:
            pieces.append(piece.clone())
            if (steps is None and len(pieces) == 3) or stream.steps == steps:
                break
        stream.close()
        after = torch.rand(4, device="cuda", generator=generator).tolist()
        return torch.cat(pieces).tolist(), stream.steps, after

    graphed = run(True, None)
    assert graphed[1] == 1 + 2 * gpt_decode.STOP_CHECK_STEPS  # mid-decode, steps queued past
    assert run(False, graphed[1]) == graphed


@needs_cuda
def test_should_stop_acts_at_a_graph_read_back(reference: dict) -> None:
    from gsv_core.models.gpt_decode import DecodeStopped

    model = load_gpt(tiny_fixture("gpt_v2.ckpt"), "cuda", torch.float32)
    args, options = _greedy(reference, "infer")
    asked = []

    def second_time() -> bool:
        asked.append(1)
        return len(asked) == 2

    with pytest.raises(DecodeStopped) as stopped:
        generate_batch(model, [args[0]], [args[1]], args[2], options, cuda_graph=True,
                       should_stop=second_time)
    full = generate(model, *args, options, cuda_graph=False)
    progress = stopped.value.progress
    assert progress.steps == 1 + gpt_decode.STOP_CHECK_STEPS < full.steps
    assert progress.tokens[0].tolist() == full.tokens[:progress.steps].tolist()


def _counting_steps(monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    recorded: list[tuple] = []

    class Counting(GraphedDecodeStep):
        def _record(self) -> torch.Tensor:
            recorded.append(tuple(self.bias.shape))
            return super()._record()

    monkeypatch.setattr(gpt_decode, "GraphedDecodeStep", Counting)
    return recorded


@needs_cuda
def test_kept_graphs_serve_the_next_decode_of_the_same_shape(
        monkeypatch: pytest.MonkeyPatch, reference: dict) -> None:
    """gpt_graph_pool: a second decode whose lengths fall in the same bucket replays the
    first one's graphs (no recording) and still gives the eager tokens; another batch size
    records its own."""
    recorded = _counting_steps(monkeypatch)
    model = load_gpt(tiny_fixture("gpt_v2.ckpt"), "cuda", torch.float32)
    phones, bert = reference["gpt.infer.phones"][0].cuda(), reference["gpt.infer.bert"][0].cuda()
    prompt = reference["gpt.infer_eos.prompt"][0].cuda()
    options = SamplingOptions(top_k=1, early_stop_tokens=40)
    for lengths, recordings in (((40,), 1), ((31,), 1), ((23,), 1), ((40, 23), 2)):
        inputs = ([phones[:n] for n in lengths], [bert[:, :n] for n in lengths], prompt,
                  options)
        graphed = generate_batch(model, *inputs, cuda_graph=True)
        eager = generate_batch(model, *inputs, cuda_graph=False)
        assert [r.tokens.tolist() for r in graphed] == [r.tokens.tolist() for r in eager]
        assert [r.steps for r in graphed] == [r.steps for r in eager]
        assert len(recorded) == recordings, lengths


@needs_cuda
def test_kept_graphs_with_a_generator_give_the_eager_tokens_and_rng_state(
        reference: dict) -> None:
    """The kept sampling graph draws from its own generator, set from the caller's and
    handed back: the same seed gives the same tokens on every call, and the caller's
    generator ends where the eager loop leaves it."""
    model = load_gpt(tiny_fixture("gpt_v2.ckpt"), "cuda", torch.float32)
    args, _ = _greedy(reference, "infer")
    options = SamplingOptions(top_k=50, top_p=0.9, temperature=1.2, early_stop_tokens=40)

    def run(seed: int, graph: bool) -> tuple[list[int], list[float]]:
        generator = torch.Generator("cuda").manual_seed(seed)
        tokens = generate(model, *args, options, generator, cuda_graph=graph).tokens.tolist()
        return tokens, torch.rand(3, device="cuda", generator=generator).tolist()

    eager = run(4, False)
    assert run(4, True) == run(4, True) == eager  # the second graphed call replays kept graphs
    assert run(5, True) == run(5, False) != eager


@needs_cuda
def test_a_paused_stream_keeps_its_buffers_from_a_second_decode(reference: dict) -> None:
    """A decode whose shape is in use (a stream not finished yet) gets buffers of its own;
    both give the eager tokens, and tokens handed out earlier are not overwritten."""
    from gsv_core.models.gpt_decode import stream_tokens

    model = load_gpt(tiny_fixture("gpt_v2.ckpt"), "cuda", torch.float32)
    args, options = _greedy(reference, "infer")
    eager = generate(model, *args, options, cuda_graph=False).tokens.tolist()
    stream = stream_tokens(model, *args, options, cuda_graph=True)
    first = [next(stream), next(stream)]
    kept = [p.clone() for p in first]
    other = generate(model, *args, options, cuda_graph=True)  # same shape, while in use
    rest = list(stream)
    assert other.tokens.tolist() == eager
    assert torch.cat(first + rest).tolist() == eager
    generate(model, args[0][:20], args[1][:, :20], args[2], options, cuda_graph=True)
    assert all(a.equal(b) for a, b in zip(first, kept, strict=True))  # outlived both decodes
