"""Token log-probabilities of given continuations under a causal LM."""

from __future__ import annotations

import torch


def position_ids(attention_mask: torch.Tensor) -> torch.Tensor:
    """Positions that skip left padding, so a padded row sees the same positions as an unpadded one."""
    return (attention_mask.long().cumsum(-1) - 1).clamp(min=0)


def token_logprobs_from_logits(
    logits: torch.Tensor, tokens: torch.Tensor, temperature: float = 1.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, L, V) logits predicting (B, L) tokens → (log p(token), entropy), both (B, L).

    Logits are divided by the sampling temperature: the KL and ratios are those of the distribution the
    samples were actually drawn from.
    """
    logp_all = torch.log_softmax(logits.float() / temperature, dim=-1)
    logp = logp_all.gather(-1, tokens.unsqueeze(-1)).squeeze(-1)
    entropy = -(logp_all.exp() * logp_all).sum(-1)
    return logp, entropy


def token_logprobs(
    model,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    start: int,
    temperature: float = 1.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Log-probs (and entropies) of input_ids[:, start:] given everything before, shape (B, T - start).

    Only the last T - start + 1 positions go through the LM head (`logits_to_keep`): with a 49k vocab
    the head is a large share of a small model's compute.
    """
    n = input_ids.shape[1] - start
    out = model(
        input_ids=input_ids,
        attention_mask=attention_mask,
        position_ids=position_ids(attention_mask),
        logits_to_keep=n + 1,
        use_cache=False,
    )
    logits = out.logits[:, :-1]  # (B, n, V): position start-1+i predicts token start+i
    return token_logprobs_from_logits(logits, input_ids[:, start:], temperature)
