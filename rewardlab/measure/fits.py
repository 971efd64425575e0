"""Goodhart curves and the functional forms of Gao, Schulman & Hilton (2022).

A Goodhart curve is reward against d = sqrt(KL(policy || reference)) along one optimisation path: the
evaluation steps of an RL run, or n = 1..N of best-of-n. Rewards are centred at the initial policy
(step 0 / n = 1), so every curve starts at R(0) = 0. The forms:

    best-of-n:  R(d) = d (alpha - beta d)          peak d* = alpha / (2 beta),   R* = alpha^2 / (4 beta)
    RL:         R(d) = d (alpha - beta log d)      peak d* = exp(alpha/beta - 1), R* = beta d*

Both are linear in (alpha, beta) for fixed d, so the fit is ordinary least squares, exact and instant,
which makes a bootstrap over prompts (resample prompts, recompute both axes, refit) cheap. beta <= 0
means the form has no maximum: d* and R* are reported as inf ("still rising"), never invented. A best-of-n
peak at d <= 0 (alpha <= 0: the reward never rose) is reported as d* = 0, R* = 0.

Goodness of fit: R^2 and RMSE of the mean curve against the fitted form, over the points with d > 0 (the
origin is fitted exactly by construction and would only flatter R^2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Literal

import numpy as np

from rewardlab.errors import ConfigError

# ---- data ------------------------------------------------------------------------------------------


@dataclass
class GoodhartData:
    """Per-prompt measurements along one optimisation path, kept per prompt for the bootstrap.

    x: (K,) evaluation step (rl) or n (bon); kl: (P, K) per-prompt KL in nats; rewards[name]: (P, K)
    per-prompt mean reward (NaN where a reward was missing)."""

    source: str
    kind: Literal["rl", "bon"]
    x: np.ndarray
    kl: np.ndarray
    rewards: dict[str, np.ndarray]
    proxy: str
    gold: list[str]
    kl_name: str

    @property
    def names(self) -> list[str]:
        return [self.proxy, *[g for g in self.gold if g != self.proxy]]

    @property
    def d(self) -> np.ndarray:
        """(K,) sqrt of the mean KL; a slightly negative k1 estimate near the start is clipped to 0."""
        return np.sqrt(np.clip(np.nanmean(self.kl, 0), 0, None))

    def mean(self, name: str) -> np.ndarray:
        return np.nanmean(self.rewards[name], 0)

    def centred(self, name: str) -> np.ndarray:
        m = self.mean(name)
        return m - m[0]


def load_curves(path: str | Path, kl: Literal["bound", "beirami"] = "bound") -> GoodhartData:
    """A Goodhart curve from a run directory (evaluation samples) or a best-of-n directory. `kl` picks the
    best-of-n KL: the usual log n - (n-1)/n (what Gao et al. fitted against) or Beirami et al.'s estimate."""
    from rewardlab.measure.bon import BonDir

    path = Path(path)
    if BonDir.is_bon(path):
        return _bon_data(BonDir(path), kl)
    if (path / "run.json").is_file():
        return _rl_data(path)
    raise ConfigError(f"{path} is neither a run directory (run.json) nor a best-of-n directory (bon.json)")


def _bon_data(d, kl: str) -> GoodhartData:
    meta, c = d.meta(), d.curves()
    kl_matrix = np.broadcast_to(c.kl_bound, c.kl_beirami.shape) if kl == "bound" else c.kl_beirami
    gold = [g for g in meta["gold"] if g in c.values]
    return GoodhartData(str(d.path), "bon", c.n, np.array(kl_matrix), c.values, meta["optimised"], gold, kl)


def _rl_data(path: Path) -> GoodhartData:
    """Per (prompt, step) means of every reward and of the sequence k1 KL of the evaluation samples."""
    from rewardlab.runs import RunDir

    run = RunDir(path)
    meta, rows = run.meta(), run.samples()
    if not rows:
        raise ConfigError(f"{path} has no evaluation samples (samples.jsonl) yet")
    steps = sorted({r["step"] for r in rows})
    pids = sorted({r["prompt_id"] for r in rows})
    si, pi = {s: i for i, s in enumerate(steps)}, {p: i for i, p in enumerate(pids)}
    names = [meta["optimised"], *[g for g in meta["gold"] if g != meta["optimised"]]]

    def cell_means(values: Callable[[dict], float | None]) -> np.ndarray:
        total, count = np.zeros((len(pids), len(steps))), np.zeros((len(pids), len(steps)))
        for r in rows:
            v = values(r)
            if v is not None and math.isfinite(v):
                total[pi[r["prompt_id"]], si[r["step"]]] += v
                count[pi[r["prompt_id"]], si[r["step"]]] += 1
        with np.errstate(invalid="ignore"):
            return total / count

    rewards = {n: cell_means(lambda r, n=n: r["rewards"].get(n)) for n in names}
    kl = cell_means(lambda r: r["kl_k1"])
    return GoodhartData(str(path), "rl", np.array(steps), kl, rewards, meta["optimised"], list(meta["gold"]), "seq_k1")


# ---- forms -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Form:
    name: str
    formula: str
    basis: Callable[[np.ndarray], np.ndarray]
    """d (..., K) → (..., K, 2) so that R(d) = basis(d) @ (alpha, beta)."""
    peak: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
    """(alpha, beta) → (d*, R*), inf where there is no maximum."""


def _bon_peak(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.where(b > 0, np.maximum(a / (2 * b), 0.0), np.inf)
        return d, np.where(np.isfinite(d), d * (a - b * d), np.inf)


def _rl_peak(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        d = np.where(b > 0, np.exp(a / b - 1), np.inf)
        return d, np.where(np.isfinite(d), b * d, np.inf)


def _d_log_d(d: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(d > 0, d * np.log(np.where(d > 0, d, 1.0)), 0.0)


FORMS: dict[str, Form] = {
    "bon": Form("bon", "R(d) = d(α − β·d)", lambda d: np.stack([d, -(d**2)], -1), _bon_peak),
    "rl": Form("rl", "R(d) = d(α − β·log d)", lambda d: np.stack([d, -_d_log_d(d)], -1), _rl_peak),
}


def _least_squares(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Batched 2-parameter OLS: X (B, K, 2), y (B, K), NaN rows of y skipped → (alpha, beta), NaN if singular."""
    w = np.isfinite(y)
    y = np.where(w, y, 0.0)
    X = X * w[..., None]
    A = np.einsum("bki,bkj->bij", X, X)
    v = np.einsum("bki,bk->bi", X, y)
    det = A[:, 0, 0] * A[:, 1, 1] - A[:, 0, 1] ** 2
    scale = np.maximum(A[:, 0, 0] * A[:, 1, 1], 1e-300)
    ok = np.abs(det) > 1e-12 * scale
    det = np.where(ok, det, np.nan)
    alpha = (A[:, 1, 1] * v[:, 0] - A[:, 0, 1] * v[:, 1]) / det
    beta = (A[:, 0, 0] * v[:, 1] - A[:, 0, 1] * v[:, 0]) / det
    return alpha, beta


# ---- fit -------------------------------------------------------------------------------------------


@dataclass
class Fit:
    source: str
    reward: str
    form: str
    formula: str
    kl_name: str
    alpha: float
    beta: float
    r2: float
    rmse: float
    n_points: int
    d_star: float
    """Peak of the fitted form in sqrt-KL units; inf = no maximum (beta <= 0)."""
    r_star: float
    """Fitted centred reward at the peak; add `baseline` for the absolute value."""
    baseline: float
    """Mean reward of the initial policy (step 0 / n = 1)."""
    d_max: float
    """Largest d measured: a d* beyond it is an extrapolation."""
    n_boot: int
    ci: dict[str, tuple[float, float]] = field(default_factory=dict)
    """95% percentile bootstrap intervals (prompts resampled) for alpha, beta, d_star, r_star."""
    peak_share: float = float("nan")
    """Share of bootstrap fits whose form has a maximum (beta > 0)."""

    def predict(self, d: np.ndarray) -> np.ndarray:
        return FORMS[self.form].basis(np.asarray(d, dtype=np.float64)) @ np.array([self.alpha, self.beta])

    @property
    def extrapolated(self) -> bool:
        return math.isfinite(self.d_star) and self.d_star > self.d_max

    def to_dict(self) -> dict:
        out = {k: v for k, v in self.__dict__.items() if k != "ci"}
        out["ci"] = {k: list(v) for k, v in self.ci.items()}
        out["kl_star"] = self.d_star**2
        out["extrapolated"] = self.extrapolated
        return out

    def summary(self) -> str:
        def ci(k: str) -> str:
            lo, hi = self.ci.get(k, (float("nan"), float("nan")))
            return f" [{lo:.3g}, {hi:.3g}]" if math.isfinite(lo) or math.isfinite(hi) else ""

        peak = (
            "no peak (β ≤ 0: still rising)"
            if not math.isfinite(self.d_star)
            else f"d*={self.d_star:.3g}{ci('d_star')} (KL {self.d_star**2:.3g} nats"
            + (", beyond the data" if self.extrapolated else "")
            + f"), R*={self.r_star:+.3g}{ci('r_star')} → {self.baseline + self.r_star:.3g}"
        )
        return (
            f"{self.reward} [{self.formula}]: α={self.alpha:.3g}{ci('alpha')}, β={self.beta:.3g}{ci('beta')}; "
            f"{peak}; R²={self.r2:.3f}, RMSE={self.rmse:.3g}, {self.n_points} points"
        )


def fit(data: GoodhartData, reward: str, form: str | None = None, n_boot: int = 1000, seed: int = 0) -> Fit:
    """Fit one reward's centred curve; `form` defaults to the data's kind (bon or rl)."""
    f = FORMS[form or data.kind]
    if reward not in data.rewards:
        raise ConfigError(f"{data.source} has no reward {reward!r}; it has {', '.join(data.rewards)}")
    values = data.rewards[reward]
    d, y = data.d, data.centred(reward)
    use = (d > 0) & np.isfinite(y)
    if use.sum() < 2:
        raise ConfigError(f"{data.source}: {reward!r} has {int(use.sum())} points with d > 0; a fit needs at least 2")
    y_fit = np.where(use, y, np.nan)
    alpha, beta = (float(v[0]) for v in _least_squares(f.basis(d)[None], y_fit[None]))
    pred = f.basis(d[use]) @ np.array([alpha, beta])
    ssr = float(np.sum((y[use] - pred) ** 2))
    sst = float(np.sum((y[use] - y[use].mean()) ** 2))
    d_star, r_star = (float(v) for v in f.peak(np.array(alpha), np.array(beta)))
    out = Fit(
        source=data.source, reward=reward, form=f.name, formula=f.formula, kl_name=data.kl_name,
        alpha=alpha, beta=beta, r2=1 - ssr / sst if sst > 0 else float("nan"), rmse=math.sqrt(ssr / use.sum()),
        n_points=int(use.sum()), d_star=d_star, r_star=r_star, baseline=float(data.mean(reward)[0]),
        d_max=float(d.max()), n_boot=0,
    )
    P = values.shape[0]
    if n_boot > 0 and P >= 2:
        _bootstrap(out, f, data.kl, values, n_boot, seed)
    return out


def _bootstrap(out: Fit, f: Form, kl: np.ndarray, values: np.ndarray, n_boot: int, seed: int) -> None:
    """Resample prompts with replacement; recompute d and the centred curve from the resampled prompts; refit."""
    P = values.shape[0]
    rng = np.random.default_rng(seed)
    counts = np.stack([np.bincount(rng.integers(0, P, P), minlength=P) for _ in range(n_boot)]).astype(np.float64)

    def resampled_mean(m: np.ndarray) -> np.ndarray:
        ok = np.isfinite(m)
        with np.errstate(invalid="ignore"):
            return (counts @ np.where(ok, m, 0.0)) / (counts @ ok)

    d = np.sqrt(np.clip(resampled_mean(kl), 0, None))
    mean = resampled_mean(values)
    y = np.where(d > 0, mean - mean[:, :1], np.nan)
    a, b = _least_squares(f.basis(d), y)
    d_star, r_star = f.peak(a, b)
    ok = np.isfinite(a) & np.isfinite(b)
    out.n_boot = int(ok.sum())
    out.peak_share = float(np.isfinite(d_star[ok]).mean()) if ok.any() else float("nan")
    for name, v in {"alpha": a, "beta": b, "d_star": d_star, "r_star": r_star}.items():
        v = v[ok]
        out.ci[name] = tuple(float(q) for q in np.percentile(v, [2.5, 97.5], method="nearest")) if len(v) else (math.nan, math.nan)


def fit_all(data: GoodhartData, n_boot: int = 1000, seed: int = 0) -> list[Fit]:
    """The proxy and every gold reward of one curve, each with its own fit."""
    return [fit(data, name, n_boot=n_boot, seed=seed) for name in data.names]
