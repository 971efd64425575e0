"""Per-token policy-gradient loss and its aggregation, exact across micro-batches.

Aggregation weights come from whole-batch counts, so summing micro-batch losses gives exactly the
full-batch loss (and gradient), whatever the micro-batch split:
  token_mean: every completion token in the batch weighs 1 / (total tokens)
  seq_mean:   token weighs 1 / (sequences * its sequence's length)   (GRPO paper)
  seq_sum:    token weighs 1 / sequences                             (textbook REINFORCE)
"""

from __future__ import annotations

import torch


def clipped_pg_loss(
    logp: torch.Tensor, old_logp: torch.Tensor, adv: torch.Tensor, clip_eps: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """PPO-clip surrogate per token, (B, L). adv is per sequence, (B,). Returns (loss, clipped?).

    On the first update of a batch ratio == 1 and this is plain REINFORCE: -adv * grad log p.
    """
    ratio = torch.exp(logp - old_logp)
    a = adv.unsqueeze(-1)
    unclipped = ratio * a
    clipped = ratio.clamp(1 - clip_eps, 1 + clip_eps) * a
    return -torch.minimum(unclipped, clipped), (clipped < unclipped).float()


def aggregate(per_token: torch.Tensor, mask: torch.Tensor, mode: str, total_tokens: int, total_seqs: int) -> torch.Tensor:
    """Weighted sum of (b, L) per-token values of one micro-batch, normalised by whole-batch counts."""
    if mode == "token_mean":
        return (per_token * mask).sum() / max(total_tokens, 1)
    if mode == "seq_mean":
        lengths = mask.sum(-1).clamp(min=1)
        return ((per_token * mask).sum(-1) / lengths).sum() / total_seqs
    if mode == "seq_sum":
        return (per_token * mask).sum() / total_seqs
    raise ValueError(f"unknown loss aggregation {mode!r}")
