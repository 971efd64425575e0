"""Advantage estimators over a batch laid out as `k` consecutive samples per prompt.

`valid` marks samples whose reward is usable (non-finite rewards dropped by config): invalid samples get
advantage 0 and are left out of every baseline.
"""

from __future__ import annotations

import torch


def advantages(rewards: torch.Tensor, k: int, algo: str, valid: torch.Tensor | None = None) -> torch.Tensor:
    """rewards: (n*k,) → advantages (n*k,).

    reinforce: r - mean(r) over the whole batch;
    rloo:      r_i - mean_{j != i} r_j within the prompt's group (unbiased leave-one-out baseline);
    grpo:      (r_i - mean_group) / (std_group + 1e-4), std with Bessel's correction.
    """
    valid = torch.ones_like(rewards, dtype=torch.bool) if valid is None else valid
    r = torch.where(valid, rewards, torch.zeros_like(rewards))
    v = valid.to(rewards.dtype)
    if algo == "reinforce":
        n = v.sum().clamp(min=1)
        adv = r - r.sum() / n
        return torch.where(valid, adv, torch.zeros_like(adv))
    g, gv = r.view(-1, k), v.view(-1, k)
    count = gv.sum(-1, keepdim=True)  # (n, 1)
    if algo == "rloo":
        others = (count - gv).clamp(min=1)
        baseline = (g.sum(-1, keepdim=True) - g) / others
        adv = torch.where(count > 1, g - baseline, torch.zeros_like(g))
    elif algo == "grpo":
        mean = g.sum(-1, keepdim=True) / count.clamp(min=1)
        var = (((g - mean) * gv) ** 2).sum(-1, keepdim=True) / (count - 1).clamp(min=1)
        adv = torch.where(count > 1, (g - mean) / (var.sqrt() + 1e-4), torch.zeros_like(g))
    else:
        raise ValueError(f"unknown algorithm {algo!r}")
    return torch.where(gv.bool(), adv, torch.zeros_like(adv)).view(-1)
