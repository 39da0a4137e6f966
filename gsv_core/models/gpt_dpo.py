"""DPO training loss for the GPT: prefer the real semantic tokens over a corrupted copy.

Facts from upstream ``t2s_model.forward`` and ``AR/models/utils.py`` (48b1a01): each target
sequence gets a "rejected" twin by repeating one random span (stutter) or dropping one
(skipped words), chosen with equal odds; both go through the model; the loss is the summed
cross-entropy of the real tokens plus ``-log sigmoid(beta * (logp_chosen - logp_rejected))``
averaged over the batch, reference-free, beta 0.2.

Where we differ (``docs/compatibility.md``, "GPT"): upstream draws the span from the padded
length (so it may corrupt only padding), may draw an empty span (the twin then equals the
real sequence) and sums log-probabilities over padded positions too; we draw a non-empty
span within the real tokens and count only real targets (tokens and the final EOS).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gsv_core.models.gpt import IGNORE_TARGET, GPTLoss, Text2SemanticDecoder

__all__ = ["DPO_BETA", "dpo_forward", "dpo_loss", "make_rejected", "sequence_logps"]

DPO_BETA = 0.2


def _corrupt(tokens: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Repeat or drop the span [i, j) of a 1-D sequence, i < j two distinct indices drawn in
    [0, len) (as upstream, the span never reaches the last token).

    The span is never empty: an empty one (upstream's i == j) makes the rejected twin equal
    the chosen sequence, a pair the preference term can learn nothing from. A sequence of
    one token can only be repeated.
    """
    length = tokens.shape[0]
    if length < 2:
        return torch.cat([tokens, tokens])
    first = int(torch.randint(0, length, (1,), generator=generator))
    second = int(torch.randint(0, length - 1, (1,), generator=generator))
    if second >= first:
        second += 1  # two distinct indices, every pair equally likely
    start, stop = sorted((first, second))
    head, span, tail = tokens[:start], tokens[start:stop], tokens[stop:]
    if int(torch.randint(0, 2, (1,), generator=generator)) == 0:
        return torch.cat([head, span, span, tail])
    return torch.cat([head, tail])


def make_rejected(semantic_ids: torch.Tensor, semantic_lens: torch.Tensor, pad_id: int,
                  generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Corrupted copies of right-padded sequences [B, Ty] -> ([B, Tr] padded with pad_id, [B])."""
    rows = [_corrupt(ids[:length], generator)
            for ids, length in zip(semantic_ids, semantic_lens.tolist(), strict=True)]
    lens = torch.tensor([r.shape[0] for r in rows], device=semantic_ids.device)
    width = int(lens.max())
    padded = torch.stack([F.pad(r, (0, width - r.shape[0]), value=pad_id) for r in rows])
    return padded, lens


def sequence_logps(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Sum of log p(target) over real targets: logits [B, T, V], targets [B, T] -> [B]."""
    real = targets != IGNORE_TARGET
    picked = logits.float().log_softmax(dim=-1).gather(
        2, targets.clamp(min=0).unsqueeze(2)).squeeze(2)  # [B, T]
    return (picked * real).sum(dim=1)


def dpo_loss(chosen_logps: torch.Tensor, rejected_logps: torch.Tensor,
             beta: float = DPO_BETA) -> torch.Tensor:
    """Reference-free DPO: mean of -log sigmoid(beta * (chosen - rejected))."""
    return -F.logsigmoid(beta * (chosen_logps - rejected_logps)).mean()


def dpo_forward(model: Text2SemanticDecoder, phone_ids: torch.Tensor, phone_lens: torch.Tensor,
                semantic_ids: torch.Tensor, semantic_lens: torch.Tensor, bert: torch.Tensor,
                beta: float = DPO_BETA,
                generator: torch.Generator | None = None) -> GPTLoss:
    """Training loss with DPO: ``loss = summed cross-entropy + dpo``; inputs as in ``forward``."""
    chosen = model(phone_ids, phone_lens, semantic_ids, semantic_lens, bert)
    rejected_ids, rejected_lens = make_rejected(semantic_ids, semantic_lens,
                                                model.config.eos_id, generator)
    rejected_logits, rejected_targets = model.teacher_forced_logits(
        phone_ids, phone_lens, rejected_ids, rejected_lens, bert)
    preference = dpo_loss(sequence_logps(chosen.logits, chosen.targets),
                          sequence_logps(rejected_logits, rejected_targets), beta)
    return GPTLoss(loss=chosen.loss + preference, accuracy=chosen.accuracy,
                   logits=chosen.logits, targets=chosen.targets, dpo_loss=preference)
