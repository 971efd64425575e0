"""The RL loop: one function, `train(cfg, run)`, read top to bottom.

sample → score → KL → advantages → update → log → evaluate → checkpoint

How it departs from the textbook:
- The "old" log-probs are those of the first training forward of the batch (detached), not of an extra
  forward pass: on the first update the ratio is exactly 1, so single-update runs are plain
  REINFORCE/RLOO and never see sampler/trainer numerics.
- Sequence KL (k1 and k3, nats, summed over completion tokens) is computed every step and at every
  evaluation, also when `kl_coef` is 0: the x-axis of every Goodhart curve is measured, not inferred.
  The logged KL is teacher-forced: policy (adapters on) and reference (adapters off, or the frozen copy)
  in the same precision and code path, so it is exactly 0 at step 0 whatever the precision. The sampler
  (a merged, possibly bf16 copy) draws with slightly different numbers; that gap is logged on its own
  (`kl/sampler_gap`, `eval/kl/sampler_gap`). The reward-mode penalty uses the sampler's log-probs,
  because it must be known before the update's forward; docs/metrics.md gives the measured gap.
- The proxy is the only reward that reaches the gradient. Gold rewards are scored on the held-out
  evaluation samples only, logged beside the proxy, and saved with the samples for offline re-scoring.
"""

from __future__ import annotations

import copy
import json
import math
import random
import time
from datetime import datetime, timezone
from typing import Any

import numpy as np
import torch

from rewardlab import __version__
from rewardlab.config import Config
from rewardlab.data import load_prompts
from rewardlab.errors import RewardError
from rewardlab.models import bf16_autocast, check_available, load_causal_lm, make_policy, resolve_device
from rewardlab.rewards import Reward, build_reward, checked_scores, nonfinite_error, validate_reward
from rewardlab.rl.advantages import advantages
from rewardlab.rl.kl import kl_k1, kl_k3, sequence_kl
from rewardlab.rl.logprobs import token_logprobs
from rewardlab.rl.losses import aggregate, clipped_pg_loss
from rewardlab.runs import RunDir, atomic_write_text
from rewardlab.sampling import Rollout, Sampler

EVAL_SEED_OFFSET = 1_000_003  # evaluation draws its own random numbers, identical at every eval step


class Reference:
    """Log-probs under the reference policy: the base with adapters disabled (LoRA, no second copy of
    the weights) or a frozen copy taken before training (full fine-tuning)."""

    def __init__(self, policy: torch.nn.Module, lora: bool):
        self.policy = policy
        self.frozen = None if lora else copy.deepcopy(policy).eval().requires_grad_(False)

    @torch.no_grad()
    def logprobs(self, rollout: Rollout, temperature: float) -> torch.Tensor:
        args = (rollout.input_ids, rollout.attention_mask, rollout.prompt_width, temperature)
        if self.frozen is not None:
            return token_logprobs(self.frozen, *args)[0].float()
        with self.policy.disable_adapter():
            return token_logprobs(self.policy, *args)[0].float()

    @torch.no_grad()
    def policy_and_reference_logprobs(self, rollout: Rollout, temperature: float) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher-forced (policy, reference) log-probs of the rollout's completions, (B, L) each, by the
        same code in the same precision: their KL is exactly 0 while the policy equals the reference."""
        args = (rollout.input_ids, rollout.attention_mask, rollout.prompt_width, temperature)
        return token_logprobs(self.policy, *args)[0].float(), self.logprobs(rollout, temperature)


def prompt_indices(step: int, n: int, num_prompts: int, seed: int) -> list[int]:
    """The prompts of a step: epochs of seeded permutations, derived from (seed, step) alone so that a
    resumed run draws exactly what the uninterrupted run would have."""
    out = []
    for pos in range(step * n, step * n + n):
        epoch, i = divmod(pos, num_prompts)
        out.append(int(np.random.default_rng([seed, epoch]).permutation(num_prompts)[i]))
    return out


def score(reward: Reward, prompts: list[str], completions: list[str], nonfinite: str) -> np.ndarray:
    """Scores as float64; NaN/inf either raise (naming the sample) or stay NaN for the caller to drop."""
    s = checked_scores(reward, prompts, completions)
    if nonfinite == "error" and (err := nonfinite_error(reward.name, s, prompts, completions)):
        raise err
    return np.asarray(s, dtype=np.float64)


def evaluate(step: int, sampler: Sampler, ref: Reference, tok, prompts: list[str], rewards: list[Reward], cfg: Config,
             autocast) -> tuple[dict, list[dict]]:
    """Generate on held-out prompts; score every reward; KL on these same samples. Returns (metrics, rows)."""
    m = cfg.train.eval_samples_per_prompt
    batch_prompts = [p for p in prompts for _ in range(m)]
    ref.policy.eval()
    with torch.random.fork_rng(devices=[]), autocast:
        torch.manual_seed(cfg.train.seed + EVAL_SEED_OFFSET)
        rollout = sampler(tok, batch_prompts, cfg.sampling, cfg.data.chat_template)
    with autocast:
        pol_logp, ref_logp = ref.policy_and_reference_logprobs(rollout, cfg.sampling.temperature)
    mask = rollout.completion_mask
    k1 = sequence_kl(kl_k1(pol_logp, ref_logp), mask)
    k3 = sequence_kl(kl_k3(pol_logp, ref_logp), mask)
    subset = {spec.name: spec.eval_subset_per_prompt for spec in [cfg.rewards.proxy, *cfg.rewards.gold]}
    scores = {}
    for r in rewards:  # a reward with a subset scores the first k samples of each prompt; the rest stay NaN
        idx = [i for i in range(len(batch_prompts)) if i % m < (subset.get(r.name) or m)]
        scores[r.name] = np.full(len(batch_prompts), np.nan)
        scores[r.name][idx] = score(r, [batch_prompts[i] for i in idx], [rollout.completions[i] for i in idx], cfg.rewards.nonfinite)
    metrics: dict[str, Any] = {
        "eval/kl/seq_k1": k1.mean().item(),
        "eval/kl/seq_k3": k3.mean().item(),
        "eval/kl/sampler_gap": sequence_kl(rollout.logprobs - pol_logp, mask).mean().item(),
        "eval/len/tokens": mask.sum(-1).mean().item(),
    }
    for name, s in scores.items():
        metrics[f"eval/reward/{name}"] = float(np.nanmean(s)) if np.isfinite(s).any() else float("nan")
        metrics[f"eval/n/{name}"] = int(np.isfinite(s).sum())
    rows = [
        {
            "step": step,
            "prompt_id": i // m,
            "prompt": batch_prompts[i],
            "completion": rollout.completions[i],
            "rewards": {name: (float(s[i]) if math.isfinite(s[i]) else None) for name, s in scores.items()},
            "kl_k1": k1[i].item(),
            "kl_k3": k3[i].item(),
            "tokens": int(mask[i].sum().item()),
        }
        for i in range(len(batch_prompts))
    ]
    return metrics, rows


def prepare(cfg: Config) -> tuple[list[str], list[str]]:
    """Everything that can fail on bad input, before any model loads."""
    prompts = load_prompts(cfg.data)
    for spec in [cfg.rewards.proxy, *cfg.rewards.gold]:
        validate_reward(spec)
    check_available(cfg.model.name)
    return prompts


def train(cfg: Config, run: RunDir, resume: bool = False, progress: bool = True) -> RunDir:
    # ---- setup ----------------------------------------------------------------------------------
    train_prompts, eval_prompts = prepare(cfg)
    if cfg.train.num_threads:
        torch.set_num_threads(cfg.train.num_threads)
    device = resolve_device(cfg.model.device)
    torch.manual_seed(cfg.train.seed)
    np.random.seed(cfg.train.seed)
    random.seed(cfg.train.seed)
    proxy = build_reward(cfg.rewards.proxy)
    golds = [build_reward(g) for g in cfg.rewards.gold]
    base, tok = load_causal_lm(cfg.model.name, device)
    sampler_copy = Sampler.inference_copy(base, cfg.model.lora.enabled, cfg.sampling.dtype)
    policy = make_policy(base, cfg.model.lora)
    sampler = Sampler(policy, sampler_copy)
    ref = Reference(policy, cfg.model.lora.enabled)
    params = [p for p in policy.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.algo.lr, weight_decay=cfg.algo.weight_decay)
    autocast = bf16_autocast(device, cfg.model.bf16_autocast)
    if resume:
        start = run.load_checkpoint(policy, opt)
        run.truncate_logs(start)
    else:
        meta = {
            "rewardlab_version": __version__,
            "optimised": cfg.rewards.proxy.name,
            "gold": [g.name for g in cfg.rewards.gold],
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "trainable_params": sum(p.numel() for p in params),
        }
        run.create(cfg.to_yaml(), meta)
        start = 0
    a, T = cfg.algo, cfg.sampling.temperature
    n, k = a.prompts_per_step, a.samples_per_prompt

    # ---- training loop --------------------------------------------------------------------------
    bar = _progress(start, cfg.train.steps, enabled=progress)
    for step in range(start, cfg.train.steps):
        row: dict[str, Any] = {"step": step}
        t_step = time.perf_counter()

        # evaluate (before this step's update: step 0 is the reference policy itself)
        if step % cfg.train.eval_every == 0:
            t = time.perf_counter()
            metrics, samples = evaluate(step, sampler, ref, tok, eval_prompts, [proxy, *golds], cfg, autocast)
            run.log_samples(samples)
            row.update(metrics, **{"timing/eval_s": time.perf_counter() - t})

        # 1. sample k completions for each of n prompts, laid out as k consecutive rows per prompt
        t = time.perf_counter()
        prompts = [train_prompts[i] for i in prompt_indices(step, n, len(train_prompts), cfg.train.seed) for _ in range(k)]
        policy.eval()
        with autocast:
            rollout = sampler(tok, prompts, cfg.sampling, cfg.data.chat_template)
        row["timing/sample_s"] = time.perf_counter() - t

        # 2. score the proxy
        t = time.perf_counter()
        proxy_scores = torch.tensor(score(proxy, prompts, rollout.completions, cfg.rewards.nonfinite), dtype=torch.float32)
        valid = torch.isfinite(proxy_scores)
        if not valid.any():
            raise RewardError(f"every sample of step {step} got a non-finite {proxy.name!r} reward")
        row["timing/score_s"] = time.perf_counter() - t

        # 3. reference log-probs; the reward-mode penalty's k1 KL per sequence from the sampler's log-probs
        #    (nats): it must be known before the update's forward, which gives the exact KL logged in 6.
        t = time.perf_counter()
        with autocast:
            ref_logp = ref.logprobs(rollout, T)
        mask = rollout.completion_mask * valid.unsqueeze(-1).to(device)  # dropped samples carry no loss
        penalty_k1 = sequence_kl(kl_k1(rollout.logprobs, ref_logp), rollout.completion_mask).cpu()
        row["timing/ref_s"] = time.perf_counter() - t

        # 4. advantages (reward mode: k1 KL penalty folded into the reward, no gradient through it)
        total = torch.nan_to_num(proxy_scores)
        if a.kl_mode == "reward":
            total = total - a.kl_coef * penalty_k1
        adv = advantages(total, k, a.name, valid).to(device)

        # 5. update: gradient accumulated over micro-batches, one optimizer step per pass over the batch
        t = time.perf_counter()
        policy.train()
        total_tokens, total_seqs = int(mask.sum().item()), int(valid.sum().item())
        old_logp = torch.zeros_like(rollout.logprobs)
        stats = {"loss/policy": 0.0, "loss/kl": 0.0, "policy/entropy": 0.0, "policy/clipfrac": 0.0}
        for epoch in range(a.updates_per_batch):
            opt.zero_grad(set_to_none=True)
            for mb in torch.arange(len(prompts)).split(a.micro_batch_size):
                with autocast:
                    logp, entropy = token_logprobs(
                        policy, rollout.input_ids[mb], rollout.attention_mask[mb], rollout.prompt_width, T
                    )
                if epoch == 0:  # no optimizer step has happened yet: this is the pre-update policy
                    old_logp[mb] = logp.detach()
                pg, clipped = clipped_pg_loss(logp, old_logp[mb], adv[mb], a.clip_eps)
                pg_loss = aggregate(pg, mask[mb], a.loss_agg, total_tokens, total_seqs)
                kl_loss = aggregate(kl_k3(logp, ref_logp[mb]), mask[mb], a.loss_agg, total_tokens, total_seqs)
                loss = pg_loss + (a.kl_coef * kl_loss if a.kl_mode == "loss" else 0.0)
                loss.backward()
                if epoch == a.updates_per_batch - 1:
                    stats["loss/policy"] += pg_loss.item()
                    stats["loss/kl"] += kl_loss.item()
                    stats["policy/entropy"] += (entropy.detach() * mask[mb]).sum().item() / max(total_tokens, 1)
                    stats["policy/clipfrac"] += (clipped * mask[mb]).sum().item() / max(total_tokens, 1)
            grad_norm = torch.nn.utils.clip_grad_norm_(params, a.max_grad_norm)
            if not torch.isfinite(grad_norm):
                raise FloatingPointError(f"non-finite gradient norm at step {step}; lower algo.lr (gradients are always clipped to algo.max_grad_norm, which cannot mend a NaN or inf in the loss or its gradient)")
            opt.step()
        row["timing/update_s"] = time.perf_counter() - t

        # 6. log (KL teacher-forced: the first update forward against the reference, same precision and path)
        cmask = rollout.completion_mask
        seq_k1 = sequence_kl(kl_k1(old_logp, ref_logp), cmask).cpu()
        seq_k3 = sequence_kl(kl_k3(old_logp, ref_logp), cmask).cpu()
        gap = sequence_kl(rollout.logprobs - old_logp, cmask).cpu()
        v = valid.numpy()
        row.update(stats)
        row.update(
            {
                f"reward/{proxy.name}": float(proxy_scores[valid].mean()),
                f"reward/{proxy.name}_std": float(proxy_scores[valid].std()) if v.sum() > 1 else 0.0,
                "reward/total": float(total[valid].mean()),
                "reward/nonfinite_dropped": int((~valid).sum()),
                "kl/seq_k1": float(seq_k1[valid].mean()),
                "kl/seq_k3": float(seq_k3[valid].mean()),
                "kl/penalty_k1": float(penalty_k1[valid].mean()),
                "kl/sampler_gap": float(gap[valid].mean()),
                "len/tokens": float(rollout.completion_mask.sum(-1).mean()),
                "grad/norm": float(grad_norm),
                "timing/step_s": time.perf_counter() - t_step,
            }
        )
        run.log_metrics(row)
        bar.set_postfix({proxy.name: f"{row[f'reward/{proxy.name}']:.3f}", "kl": f"{row['kl/seq_k1']:.3f}"})
        bar.update(1)

        # 7. checkpoint (the state before step + 1)
        if (step + 1) % cfg.train.checkpoint_every == 0 or step + 1 == cfg.train.steps:
            run.save_checkpoint(step + 1, policy, opt, cfg.train.keep_checkpoints)
    bar.close()

    # ---- final evaluation and export ------------------------------------------------------------
    final = cfg.train.steps
    if not any(r.get("step") == final for r in run.metrics()):
        t = time.perf_counter()
        metrics, samples = evaluate(final, sampler, ref, tok, eval_prompts, [proxy, *golds], cfg, autocast)
        run.log_samples(samples)
        run.log_metrics({"step": final, **metrics, "timing/eval_s": time.perf_counter() - t})
    export = run.path / ("adapter" if cfg.model.lora.enabled else "model")
    policy.save_pretrained(export)
    tok.save_pretrained(export)
    meta = run.meta()
    meta.update(status="finished", finished=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    atomic_write_text(run.path / "run.json", json.dumps(meta, indent=2) + "\n")
    return run


def _progress(start: int, total: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=start, desc="train", unit="step", disable=not enabled, dynamic_ncols=True)
