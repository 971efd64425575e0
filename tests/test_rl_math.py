"""The RL math against exact or naive references."""

from __future__ import annotations

import itertools

import pytest
import torch

from rewardlab.rl.advantages import advantages
from rewardlab.rl.kl import kl_k1, kl_k3, sequence_kl
from rewardlab.rl.logprobs import token_logprobs
from rewardlab.rl.losses import aggregate, clipped_pg_loss


def _tiny_lm(vocab: int, seed: int):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    cfg = LlamaConfig(vocab_size=vocab, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                      num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=32)
    return LlamaForCausalLM(cfg).eval()


@pytest.mark.parametrize("temperature", [1.0, 0.7])
def test_kl_estimators_equal_exact_sequence_kl(temperature):
    """Enumerate every length-3 continuation over a 5-token vocabulary: the policy-weighted average of
    the summed k1 and k3 estimates must equal the exact sequence KL (both are unbiased)."""
    vocab, length = 5, 3
    policy, ref = _tiny_lm(vocab, 0), _tiny_lm(vocab, 1)
    prompt = torch.tensor([[1, 2]])
    seqs = torch.tensor(list(itertools.product(range(vocab), repeat=length)))  # (125, 3)
    ids = torch.cat([prompt.expand(len(seqs), -1), seqs], dim=1)
    mask = torch.ones_like(ids)
    with torch.no_grad():
        lp, _ = token_logprobs(policy, ids, mask, 2, temperature)
        lq, _ = token_logprobs(ref, ids, mask, 2, temperature)
    p_seq = lp.sum(-1).exp()
    assert p_seq.sum().item() == pytest.approx(1.0, abs=1e-5)
    exact = (p_seq * (lp.sum(-1) - lq.sum(-1))).sum()
    cmask = torch.ones_like(lp)
    est_k1 = (p_seq * sequence_kl(kl_k1(lp, lq), cmask)).sum()
    est_k3 = (p_seq * sequence_kl(kl_k3(lp, lq), cmask)).sum()
    assert exact.item() > 0.01
    assert est_k1.item() == pytest.approx(exact.item(), rel=1e-4)
    assert est_k3.item() == pytest.approx(exact.item(), rel=1e-4)
    assert (kl_k3(lp, lq) >= 0).all()


def _naive_advantages(r, valid, k, algo):
    out = [0.0] * len(r)
    if algo == "reinforce":
        vals = [r[i] for i in range(len(r)) if valid[i]]
        mean = sum(vals) / len(vals)
        return [r[i] - mean if valid[i] else 0.0 for i in range(len(r))]
    for g in range(0, len(r), k):
        idx = [i for i in range(g, g + k) if valid[i]]
        for i in idx:
            others = [r[j] for j in idx if j != i]
            if not others:
                continue
            if algo == "rloo":
                out[i] = r[i] - sum(others) / len(others)
            else:
                vals = [r[j] for j in idx]
                mean = sum(vals) / len(vals)
                std = (sum((v - mean) ** 2 for v in vals) / (len(vals) - 1)) ** 0.5
                out[i] = (r[i] - mean) / (std + 1e-4)
    return out


@pytest.mark.parametrize("algo", ["reinforce", "rloo", "grpo"])
def test_advantages_match_naive_loop(algo):
    g = torch.Generator().manual_seed(0)
    k = 4
    r = torch.randn(6 * k, generator=g, dtype=torch.float64)
    valid = torch.rand(6 * k, generator=g) > 0.25
    valid[:k] = True  # one full group
    valid[k : 2 * k] = False  # one fully dropped group
    got = advantages(r, k, algo, valid)
    want = _naive_advantages(r.tolist(), valid.tolist(), k, algo)
    assert torch.allclose(got, torch.tensor(want, dtype=torch.float64), atol=1e-9)


def test_rloo_is_scaled_centering():
    r = torch.tensor([1.0, 2.0, 3.0, 6.0])
    assert torch.allclose(advantages(r, 4, "rloo"), 4 / 3 * (r - r.mean()))


@pytest.mark.parametrize("mode", ["token_mean", "seq_mean", "seq_sum"])
def test_microbatch_aggregation_equals_full_batch(mode):
    """Loss and gradient summed over any micro-batch split equal the full-batch ones."""
    g = torch.Generator().manual_seed(0)
    B, L = 10, 7
    logits = torch.randn(B, L, generator=g, requires_grad=True)
    old = logits.detach() + 0.1 * torch.randn(B, L, generator=g)
    adv = torch.randn(B, generator=g)
    mask = (torch.rand(B, L, generator=g) > 0.3).float()
    mask[:, 0] = 1
    tokens, seqs = int(mask.sum()), B

    def loss_of(rows):
        pg, _ = clipped_pg_loss(logits[rows], old[rows], adv[rows], 0.2)
        return aggregate(pg, mask[rows], mode, tokens, seqs)

    full = loss_of(torch.arange(B))
    (g_full,) = torch.autograd.grad(full, logits)
    parts = [loss_of(rows) for rows in torch.arange(B).split(3)]
    total = sum(parts)
    (g_parts,) = torch.autograd.grad(total, logits)
    assert total.item() == pytest.approx(full.item(), rel=1e-6)
    assert torch.allclose(g_parts, g_full, atol=1e-7)


def test_first_update_is_reinforce():
    """With old == current log-probs the clipped surrogate's gradient is -adv * grad log p."""
    logp = torch.randn(3, 4, requires_grad=True)
    adv = torch.tensor([1.0, -2.0, 0.5])
    pg, clipped = clipped_pg_loss(logp, logp.detach(), adv, 0.2)
    (g,) = torch.autograd.grad(pg.sum(), logp)
    assert torch.allclose(g, -adv.unsqueeze(-1).expand(3, 4))
    assert clipped.sum() == 0
