"""KL estimators (Schulman, "Approximating KL divergence", 2020), per token, from samples of the policy.

With r = log ref(x) - log pi(x) for x ~ pi:
  k1 = -r             unbiased, high variance, can be negative per token
  k3 = (e^r - 1) - r  unbiased, always >= 0, lower variance
Summed over a sequence's tokens, both are unbiased estimates of the sequence-level KL(pi || ref) in nats
(chain rule: the expected per-token KL at each prefix adds up to the sequence KL).
"""

from __future__ import annotations

import torch


def kl_k1(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    return logp - ref_logp


def kl_k3(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    r = ref_logp - logp
    return torch.expm1(r) - r


def sequence_kl(per_token: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(B, L) per-token estimates → (B,) sequence KL in nats (sum over completion tokens)."""
    return (per_token * mask).sum(-1)
