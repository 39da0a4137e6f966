"""Turning one step of GPT logits into the next semantic token, with upstream's exact rules.

Order (upstream ``AR/models/utils.py::logits_to_probs`` at 48b1a01):
1. repetition penalty, applied **in place** once to every distinct earlier token (prompt
   included): a logit below 0 is multiplied by the penalty, otherwise divided by it. The
   EOS test that follows sampling sees these penalised logits;
2. top-p (nucleus) on the penalised logits: drop tokens past the cumulative probability
   ``top_p``, always keeping the most likely one;
3. temperature (divided by ``max(temperature, 1e-5)``);
4. top-k: drop logits below the k-th largest;
5. sample by ``argmax(probs / Exp(1) noise)``, equivalent to a multinomial draw without a
   GPU sync. With ``top_k=1`` every probability but one is 0, so decoding is greedy.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from gsv_core.errors import ConfigError

__all__ = ["SamplingOptions", "apply_repetition_penalty", "sample_next", "token_probs"]

MIN_TEMPERATURE = 1e-5


@dataclass(frozen=True)
class SamplingOptions:
    """How the GPT picks tokens and when it stops. Defaults are upstream's inference WebUI's."""

    top_k: int = 15  # keep the k most likely tokens; 0 turns top-k off
    top_p: float = 1.0  # nucleus threshold in (0, 1]; 1.0 turns it off
    temperature: float = 1.0
    repetition_penalty: float = 1.35  # 1.0 turns it off
    # Stop once more than this many new tokens exist (upstream: 25 Hz x max_sec = 1350);
    # None never stops early. The stop leaves early_stop_tokens + 1 new tokens.
    early_stop_tokens: int | None = 1350
    max_steps: int = 1500  # hard cap on decoding steps (upstream: 1500)
    min_steps_before_eos: int = 11  # EOS cannot be chosen in steps 0..10 (0.44 s)

    def __post_init__(self) -> None:
        if self.top_k < 0:
            raise ConfigError(f"top_k must be 0 (off) or positive, got {self.top_k}.")
        if not 0.0 < self.top_p <= 1.0:
            raise ConfigError(f"top_p must be in (0, 1], got {self.top_p}.")
        if self.temperature <= 0:
            raise ConfigError(f"temperature must be positive, got {self.temperature}.")
        if self.repetition_penalty <= 0:
            raise ConfigError(
                f"repetition_penalty must be positive, got {self.repetition_penalty}.")
        if self.early_stop_tokens is not None and self.early_stop_tokens < 0:
            raise ConfigError(f"early_stop_tokens must be >= 0, got {self.early_stop_tokens}.")
        if self.max_steps < 1:
            raise ConfigError(f"max_steps must be at least 1, got {self.max_steps}.")


def apply_repetition_penalty(logits: torch.Tensor, previous: torch.Tensor,
                             penalty: float) -> torch.Tensor:
    """Penalise, in place, the logits [B, V] of every token id in ``previous`` [B, T].

    Gather-then-scatter reads each original logit once, so a token seen many times is still
    penalised only once. Returns ``logits`` for chaining.
    """
    if penalty == 1.0 or previous.shape[1] == 0:
        return logits
    index = previous.long()
    score = logits.gather(1, index)
    score = torch.where(score < 0, score * penalty, score / penalty)
    return logits.scatter_(1, index, score)


def token_probs(logits: torch.Tensor, options: SamplingOptions) -> torch.Tensor:
    """Probabilities [B, V] from already-penalised logits [B, V] (steps 2-4 of the module doc)."""
    if options.top_p < 1.0:
        sorted_logits, sorted_index = logits.sort(dim=-1, descending=True)
        cumulative = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
        drop_sorted = cumulative > options.top_p
        drop_sorted[:, 0] = False  # always keep the most likely token
        drop = drop_sorted.scatter(1, sorted_index, drop_sorted)
        logits = logits.masked_fill(drop, float("-inf"))
    logits = logits / max(options.temperature, MIN_TEMPERATURE)
    if options.top_k > 0:
        kth = logits.topk(min(options.top_k, logits.shape[-1]), dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    return logits.softmax(dim=-1)


def sample_next(logits: torch.Tensor, previous: torch.Tensor, options: SamplingOptions,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """Penalise ``logits`` [B, V] in place and draw one token per row -> [B, 1] int64."""
    apply_repetition_penalty(logits, previous, options.repetition_penalty)
    probs = token_probs(logits, options)
    noise = torch.empty_like(probs).exponential_(1, generator=generator)
    return (probs / noise).argmax(dim=-1, keepdim=True)
