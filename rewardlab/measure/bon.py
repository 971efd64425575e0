"""Best-of-n: sample N completions per prompt from the reference policy once, score them, and compute
for every n <= N what proxy-best-of-n would give, without ever drawing a subset.

Estimator. For one prompt with N scored samples ranked i = 1..N by increasing proxy, the argmax of a
uniformly random n-subset is the sample of rank i with probability C(i-1, n-1) / C(N, n) (the other
n-1 members must all rank below it). So

    E[gold of proxy-best-of-n] = sum_i gold_(i) * C(i-1, n-1) / C(N, n)

exactly: the average over all C(N, n) subsets, an unbiased U-statistic for best-of-n from the policy,
with far less variance than one random draw per n. Proxy ties: best-of-n breaks them uniformly at
random; in expectation that gives each tied sample the mean gold of its tie group, so golds are
replaced by their tie-group means before weighting (exact, deterministic).

KL. `kl_bon_bound(n) = log n - (n-1)/n` is the formula of Stiennon et al. and Gao et al.; Beirami et al.
(2024) show it is only an upper bound, loose when the reward has ties or a likely top outcome.
`kl_bon_beirami(n, eps)` is their single-atom estimate: the top-reward outcome has reference mass
eps, everything below it is treated as continuous. Here eps is estimated per prompt as the share of
the N samples tied at the top proxy score (docs/measurement.md says why this one).

A best-of-n directory (like a run directory, self-describing):
  config.yaml    the resolved BonConfig
  bon.json       proxy, gold names, the reward specs the scores came from, what the samples depend on
  samples.jsonl  one row per sample: prompt_id, prompt, index, completion, tokens, rewards{name: float|None}
  curve.jsonl    one row per n: n, kl_bound, kl_beirami, reward/<name> (means over prompts)
Samples are written before any reward runs, so a failing reward never costs the sampling; scores are
cached per reward spec, and `rescore` adds a reward without resampling.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import yaml
from pydantic import Field, ValidationError

from rewardlab.config import Section, DataConfig, ModelConfig, RewardsConfig, RewardSpec, SamplingConfig, apply_overrides, read_config_tree
from rewardlab.errors import ConfigError, RewardError
from rewardlab.runs import atomic_write_text, read_jsonl

# ---- estimator -------------------------------------------------------------------------------------


@lru_cache(maxsize=32)
def bon_weights(N: int) -> np.ndarray:
    """(N, N) matrix W with W[n-1, i-1] = P(rank i is the max of a random n-subset) = C(i-1,n-1)/C(N,n).
    Computed in log space (gammaln), so N in the thousands neither overflows nor loses precision."""
    from scipy.special import gammaln

    def log_comb(a, b):
        return gammaln(a + 1) - gammaln(b + 1) - gammaln(a - b + 1)

    n = np.arange(1, N + 1)[:, None]
    i = np.arange(1, N + 1)[None, :]
    with np.errstate(invalid="ignore", over="ignore"):
        w = np.where(i >= n, np.exp(log_comb(i - 1, n - 1) - log_comb(N, n)), 0.0)
    w.setflags(write=False)
    return w


def expected_best_of_n(proxy: np.ndarray, values: np.ndarray) -> np.ndarray:
    """(N,) proxy scores and (N,) values of one prompt's samples → (N,) expected value of the proxy-argmax
    of a uniformly random n-subset, for n = 1..N. Proxy ties are broken at random (in expectation)."""
    proxy, values = np.asarray(proxy, dtype=np.float64), np.asarray(values, dtype=np.float64)
    order = np.argsort(proxy, kind="stable")
    p, v = proxy[order], values[order]
    _, group, counts = np.unique(p, return_inverse=True, return_counts=True)
    v = (np.bincount(group, weights=v) / counts)[group]
    return bon_weights(len(p)) @ v


def kl_bon_bound(n: np.ndarray | int) -> np.ndarray:
    """log n - (n-1)/n: the usual best-of-n KL, exact only for a continuous reward; an upper bound."""
    n = np.asarray(n, dtype=np.float64)
    return np.log(n) - (n - 1) / n


def kl_bon_beirami(n: np.ndarray | int, eps: np.ndarray | float) -> np.ndarray:
    """Beirami et al. (2024) estimate of KL(best-of-n || reference) when the top-reward outcome has
    reference mass eps and the rest is continuous:
        (1-eps)^n (log n + (n-1) log(1-eps) - (n-1)/n) + (1 - (1-eps)^n) log((1 - (1-eps)^n) / eps).
    eps -> 0 recovers log n - (n-1)/n; n -> inf tends to log(1/eps), not infinity. Broadcasts."""
    n = np.asarray(n, dtype=np.float64)
    eps = np.asarray(eps, dtype=np.float64)
    if np.any((eps < 0) | (eps > 1)):
        raise ValueError("eps must lie in [0, 1]")
    a = (1 - eps) ** n  # probability that no draw is the top outcome
    with np.errstate(divide="ignore", invalid="ignore"):
        rest = a * (np.log(n) + (n - 1) * np.log1p(-eps) - (n - 1) / n)
        top = (1 - a) * np.log((1 - a) / eps)
    rest = np.where(eps >= 1, 0.0, rest)
    top = np.where(eps <= 0, 0.0, np.where(a >= 1, 0.0, top))
    return rest + top


def top_mass(proxy: np.ndarray) -> float:
    """Share of samples tied at the highest proxy score: the empirical eps of `kl_bon_beirami`."""
    proxy = np.asarray(proxy)
    return float(np.mean(proxy == proxy.max()))


@dataclass
class BonCurves:
    """Per-prompt best-of-n curves. n: (K,); kl_bound: (K,); kl_beirami and values[name]: (P, K)."""

    n: np.ndarray
    kl_bound: np.ndarray
    kl_beirami: np.ndarray
    values: dict[str, np.ndarray]
    prompts: list[str]


def bon_curves(rows: Sequence[dict], proxy: str, names: Sequence[str]) -> BonCurves:
    """Best-of-n curves from scored sample rows. A sample enters its prompt's pool only if the proxy and
    every named reward are finite; curves run to the smallest pool, so every n averages all prompts."""
    by_prompt: dict[int, list[dict]] = {}
    for r in rows:
        by_prompt.setdefault(r["prompt_id"], []).append(r)
    needed = [proxy, *[n for n in names if n != proxy]]
    pools = []
    for pid in sorted(by_prompt):
        pool = [r for r in by_prompt[pid] if all(r["rewards"].get(k) is not None for k in needed)]
        pools.append((by_prompt[pid][0]["prompt"], pool))
    K = min(len(pool) for _, pool in pools) if pools else 0
    if K == 0:
        raise RewardError(f"some prompt has no sample with finite scores for all of {needed}: no best-of-n curve")
    values: dict[str, list[np.ndarray]] = {k: [] for k in needed}
    eps = []
    for _, pool in pools:
        p = np.array([r["rewards"][proxy] for r in pool])
        eps.append(top_mass(p))
        for k in needed:
            values[k].append(expected_best_of_n(p, np.array([r["rewards"][k] for r in pool]))[:K])
    n = np.arange(1, K + 1)
    return BonCurves(
        n=n,
        kl_bound=kl_bon_bound(n),
        kl_beirami=kl_bon_beirami(n[None, :], np.array(eps)[:, None]),
        values={k: np.stack(v) for k, v in values.items()},
        prompts=[p for p, _ in pools],
    )


# ---- config ----------------------------------------------------------------------------------------


class BonSettings(Section):
    n: int = Field(64, ge=2)
    """Samples per prompt (N); curves cover every n from 1 to N."""
    batch_size: int = Field(64, ge=1)
    """Rows per generate call (and per reward call)."""
    seed: int = 0
    out_dir: str = "runs"
    run_name: str | None = None
    """None = `bon-<proxy>-n<N>-s<seed>`: the same config finds its cached samples again."""
    samples_from: str | None = None
    """A best-of-n directory drawn with the same model, data, sampling, n and seed: its samples, and its
    scores by identical reward specs, are reused; selecting by another proxy then costs no sampling."""


class BonConfig(Section):
    """What `rewardlab bon` reads. The prompts are the *evaluation* prompts of `data` (held out from RL),
    so a best-of-n curve and an RL run with the same data section are measured on the same prompts."""

    model: ModelConfig = ModelConfig()
    data: DataConfig = DataConfig()
    sampling: SamplingConfig = SamplingConfig()
    rewards: RewardsConfig = RewardsConfig()
    bon: BonSettings = BonSettings()


RL_ONLY_SECTIONS = ("algo", "train")


def load_bon_config(path: str | Path, overrides: Sequence[str] = ()) -> tuple[BonConfig, list[str]]:
    """Load a best-of-n config. An RL training config also works: its RL-only sections are dropped and
    returned, so the caller can say so, and BoN runs on exactly the RL run's model, prompts and rewards."""
    tree = read_config_tree(path)
    dropped = [k for k in RL_ONLY_SECTIONS if tree.pop(k, None) is not None]
    apply_overrides(tree, list(overrides))
    try:
        return BonConfig.model_validate(tree), dropped
    except ValidationError as e:
        lines = [f"  {'.'.join(str(x) for x in err['loc'])}: {err['msg']}" for err in e.errors()]
        raise ConfigError("invalid best-of-n config:\n" + "\n".join(lines)) from None


# ---- directory -------------------------------------------------------------------------------------


class BonDir:
    def __init__(self, path: str | Path):
        self.path = Path(path)

    @property
    def config_path(self) -> Path:
        return self.path / "config.yaml"

    @property
    def meta_path(self) -> Path:
        return self.path / "bon.json"

    @property
    def samples_path(self) -> Path:
        return self.path / "samples.jsonl"

    @property
    def curve_path(self) -> Path:
        return self.path / "curve.jsonl"

    @staticmethod
    def is_bon(path: str | Path) -> bool:
        return (Path(path) / "bon.json").is_file()

    def meta(self) -> dict[str, Any]:
        return json.loads(self.meta_path.read_text())

    def config(self) -> BonConfig:
        return BonConfig.model_validate(yaml.safe_load(self.config_path.read_text()))

    def rows(self) -> list[dict[str, Any]]:
        return list(read_jsonl(self.samples_path))

    def curves(self) -> BonCurves:
        """Curves of the proxy and of every gold reward already scored (a crash mid-scoring leaves the rest)."""
        meta = self.meta()
        return bon_curves(self.rows(), meta["optimised"], [g for g in meta["gold"] if g in meta["rewards"]])

    def write(self, meta: dict[str, Any], rows: list[dict[str, Any]] | None = None) -> None:
        if rows is not None:
            atomic_write_text(self.samples_path, "".join(json.dumps(r) + "\n" for r in rows))
        atomic_write_text(self.meta_path, json.dumps(meta, indent=2) + "\n")

    def write_curve(self) -> BonCurves:
        c = self.curves()
        lines = []
        for k, n in enumerate(c.n):
            row = {"n": int(n), "kl_bound": float(c.kl_bound[k]), "kl_beirami": float(c.kl_beirami[:, k].mean())}
            row.update({f"reward/{name}": float(v[:, k].mean()) for name, v in c.values.items()})
            lines.append(json.dumps(row) + "\n")
        atomic_write_text(self.curve_path, "".join(lines))
        return c


# ---- sampling and scoring --------------------------------------------------------------------------


def _sample_all(cfg: BonConfig, prompts: list[str], progress: bool) -> list[dict[str, Any]]:
    """N completions per prompt from the reference model (no adapters), batched across prompts."""
    import torch

    from rewardlab.models import bf16_autocast, load_causal_lm, resolve_device
    from rewardlab.sampling import sample_batched

    device = resolve_device(cfg.model.device)
    model, tok = load_causal_lm(cfg.model.name, device)
    model.eval().to(getattr(torch, cfg.sampling.dtype))  # as the RL sampler does: the same reference distribution
    torch.manual_seed(cfg.bon.seed)
    jobs = [(pid, j) for pid in range(len(prompts)) for j in range(cfg.bon.n)]
    drawn = sample_batched(model, tok, [prompts[p] for p, _ in jobs], cfg.sampling, cfg.data.chat_template,
                           cfg.bon.batch_size, bf16_autocast(device, cfg.model.bf16_autocast), "bon: sample", progress)
    return [{"prompt_id": pid, "prompt": prompts[pid], "index": j, "completion": c, "tokens": t, "rewards": {}}
            for (pid, j), (c, t) in zip(jobs, drawn)]


def _score(rows: list[dict[str, Any]], spec: RewardSpec, nonfinite: str, batch_size: int, progress: bool) -> None:
    """Score every row with one reward, in place; non-finite scores raise or are stored as None."""
    from tqdm.auto import tqdm

    from rewardlab.rewards import build_reward, checked_scores, nonfinite_error

    reward = build_reward(spec)
    with tqdm(total=len(rows), desc=f"bon: score {spec.name}", unit="sample", disable=not progress, dynamic_ncols=True) as bar:
        for start in range(0, len(rows), batch_size):
            chunk = rows[start : start + batch_size]
            prompts, completions = [r["prompt"] for r in chunk], [r["completion"] for r in chunk]
            scores = checked_scores(reward, prompts, completions)
            if nonfinite == "error" and (err := nonfinite_error(spec.name, scores, prompts, completions)):
                raise err
            for r, s in zip(chunk, scores):
                r["rewards"][spec.name] = s if math.isfinite(s) else None
            bar.update(len(chunk))


def default_dir(cfg: BonConfig) -> Path:
    name = cfg.bon.run_name or f"bon-{cfg.rewards.proxy.name}-n{cfg.bon.n}-s{cfg.bon.seed}"
    return Path(cfg.bon.out_dir) / name


def run_bon(cfg: BonConfig, out: str | Path | None = None, progress: bool = True) -> BonDir:
    """Sample (or reuse the cached samples of the same config), score every reward whose spec is new or
    changed, and write the curve. Re-running with more gold rewards only scores those."""
    from rewardlab import __version__
    from rewardlab.data import load_prompts
    from rewardlab.models import check_available
    from rewardlab.rewards import validate_reward

    _, prompts = load_prompts(cfg.data)
    specs = [cfg.rewards.proxy, *cfg.rewards.gold]
    for spec in specs:
        validate_reward(spec)
    d = BonDir(out or default_dir(cfg))
    sampled_with = {"model": cfg.model.model_dump(mode="json"), "data": cfg.data.model_dump(mode="json"),
                    "sampling": cfg.sampling.model_dump(mode="json"), "prompts": prompts,
                    "n": cfg.bon.n, "seed": cfg.bon.seed, "batch_size": cfg.bon.batch_size}
    if d.samples_path.is_file() and d.meta_path.is_file():
        meta = d.meta()
        if meta["sampled_with"] != sampled_with:
            diff = sorted(k for k in sampled_with if meta["sampled_with"].get(k) != sampled_with[k])
            raise ConfigError(f"{d.path} holds samples drawn with another config (differs in: {', '.join(diff)}); "
                              "set bon.run_name or bon.out_dir for a new directory")
        rows = d.rows()
    else:
        meta = {"kind": "bon", "rewardlab_version": __version__, "sampled_with": sampled_with, "rewards": {},
                "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        if cfg.bon.samples_from:
            rows, meta["rewards"] = _reused_samples(cfg.bon.samples_from, sampled_with)
            meta["samples_from"] = cfg.bon.samples_from
        else:
            check_available(cfg.model.name)
            rows = _sample_all(cfg, prompts, progress)
        d.path.mkdir(parents=True, exist_ok=True)
        d.write({**meta, "optimised": cfg.rewards.proxy.name, "gold": []}, rows)  # the cache, before any scoring
    atomic_write_text(d.config_path, cfg.to_yaml())
    gold = [g for g in [*meta.get("gold", []), *(g.name for g in cfg.rewards.gold)] if g != cfg.rewards.proxy.name]
    meta.update(optimised=cfg.rewards.proxy.name, gold=list(dict.fromkeys(gold)))
    _score_new(d, meta, rows, specs, cfg, progress)
    return d


def _reused_samples(path: str, sampled_with: dict) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The rows and reward specs of another best-of-n directory, if it was sampled exactly as asked."""
    src = BonDir(path)
    if not BonDir.is_bon(src.path):
        raise ConfigError(f"bon.samples_from: {src.path} is not a best-of-n directory (no bon.json)")
    theirs = src.meta()
    if theirs["sampled_with"] != sampled_with:
        diff = sorted(k for k in sampled_with if theirs["sampled_with"].get(k) != sampled_with[k])
        raise ConfigError(f"bon.samples_from: {src.path} was sampled with another config (differs in: {', '.join(diff)})")
    return src.rows(), dict(theirs["rewards"])


def rescore(path: str | Path, specs: Sequence[RewardSpec], progress: bool = True) -> BonDir:
    """Add (or re-score) gold rewards on a best-of-n directory's cached samples; no model is loaded."""
    from rewardlab.rewards import validate_reward

    d = BonDir(path)
    if not BonDir.is_bon(d.path):
        raise ConfigError(f"{d.path} is not a best-of-n directory (no bon.json)")
    meta, rows, cfg = d.meta(), d.rows(), d.config()
    for spec in specs:
        validate_reward(spec)
        if spec.name == meta["optimised"]:
            raise ConfigError(f"{spec.name!r} is the proxy of {d.path}; give the new reward another name")
    meta["gold"] = list(dict.fromkeys([*meta["gold"], *(s.name for s in specs)]))
    _score_new(d, meta, rows, list(specs), cfg, progress, force=True)
    return d


def _score_new(d: BonDir, meta: dict, rows: list[dict], specs: list[RewardSpec], cfg: BonConfig,
               progress: bool, force: bool = False) -> None:
    for spec in specs:
        dumped = spec.model_dump(mode="json")
        if force or meta["rewards"].get(spec.name) != dumped or any(spec.name not in r["rewards"] for r in rows):
            _score(rows, spec, cfg.rewards.nonfinite, cfg.bon.batch_size, progress)
            meta["rewards"][spec.name] = dumped
            d.write(meta, rows)  # each finished reward is cached at once
    d.write(meta)
    d.write_curve()
