"""The report's figures (matplotlib, Agg). Every figure plots measured points; fitted curves are drawn as
lines over the measured range only, labelled with their R^2, so a fit never passes for data."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from rewardlab.report import Source

DPI = 110


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 9, "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False,
                         "axes.spines.right": False, "legend.fontsize": 7, "legend.frameon": False})
    return plt


def _text(s: str) -> str:
    """Names go into matplotlib labels as plain text: `$` would start mathtext."""
    return s.replace("$", r"\$")


def _grid(plt, n: int, cols: int = 3, size: tuple[float, float] = (4.2, 3.0)):
    cols = min(cols, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(size[0] * cols, size[1] * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:n])


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path


def _eval_points(source: Source, name: str) -> list[tuple[int, float]]:
    """(step, evaluation mean) of one reward over an RL run."""
    return [(m["step"], m[f"eval/reward/{name}"]) for m in source.metrics if f"eval/reward/{name}" in m]


def goodhart(sources: list[Source], path: Path) -> Path | None:
    """One panel per reward: centred reward against d = sqrt(KL) for every RL run and best-of-n result,
    measured points and the fitted Gao et al. form. Best-of-n is also shown against Beirami et al.'s
    tighter KL (hollow markers): the same rewards, reached at less KL than the usual formula says."""
    curves = [s for s in sources if s.curves is not None]
    if not curves:
        return None
    names = list(dict.fromkeys(n for s in curves for n in [*s.curves.gold, s.curves.proxy]))
    plt = _plt()
    fig, axes = _grid(plt, len(names), size=(5.0, 3.6))
    for ax, name in zip(axes, names):
        for i, s in enumerate(curves):
            if name not in s.curves.rewards:
                continue
            color = f"C{i}"
            role = "proxy" if name == s.curves.proxy else "gold"
            marker = "o" if s.kind == "rl" else "s"
            f = s.fit_for(name)
            fitted = f", fit R²={f.r2:.2f}" if f is not None else ", no fit"
            ax.plot(s.curves.d, s.curves.centred(name), marker, color=color, ms=3.5,
                    label=f"{_text(s.label)} ({s.kind}, {role}){fitted}")
            if s.bon_beirami is not None:
                ax.plot(s.bon_beirami.d, s.bon_beirami.centred(name), marker, mfc="none", color=color, ms=3.5,
                        alpha=0.6, label=f"{_text(s.label)}, Beirami KL")
            if f is not None:
                grid = np.linspace(0, f.d_max, 200)
                ax.plot(grid, f.predict(grid), "-", color=color, lw=1.3)
                if math.isfinite(f.d_star) and f.d_star <= f.d_max:
                    ax.plot([f.d_star], [f.r_star], "*", color=color, ms=10, mec="k", mew=0.5)
        ax.axhline(0, color="k", lw=0.5)
        ax.set_title(_text(name))
        ax.set_xlabel("d = √KL  (√nats)")
        ax.set_ylabel("reward − initial")
        ax.legend(loc="best", frameon=True, framealpha=0.85)
    fig.suptitle("Goodhart curves: points measured, lines fitted (Gao et al. forms), ★ = fitted peak")
    return _save(fig, path)


def reward_curves(sources: list[Source], path: Path) -> Path | None:
    """RL runs: every reward on the held-out evaluation prompts per step (proxy also on the training
    batches, thin), and the sequence KL."""
    runs = [s for s in sources if s.kind == "rl" and s.metrics]
    if not runs:
        return None
    names = list(dict.fromkeys(n for s in runs for n in [s.meta["optimised"], *s.meta.get("gold", [])]))
    plt = _plt()
    fig, axes = _grid(plt, len(names) + 1)
    for i, s in enumerate(runs):
        color = f"C{i}"
        for ax, name in zip(axes, names):
            pts = _eval_points(s, name)
            if pts:
                ax.plot(*zip(*pts), "o-", color=color, ms=3, label=f"{_text(s.label)} (eval)")
            train = [(m["step"], m[f"reward/{name}"]) for m in s.metrics if f"reward/{name}" in m]
            if train:
                ax.plot(*zip(*train), "-", color=color, lw=0.7, alpha=0.5, label=f"{_text(s.label)} (train batch)")
        kl_eval = [(m["step"], m["eval/kl/seq_k1"]) for m in s.metrics if "eval/kl/seq_k1" in m]
        kl_train = [(m["step"], m["kl/seq_k1"]) for m in s.metrics if "kl/seq_k1" in m]
        if kl_eval:
            axes[-1].plot(*zip(*kl_eval), "o-", color=color, ms=3, label=f"{_text(s.label)} (eval)")
        if kl_train:
            axes[-1].plot(*zip(*kl_train), "-", color=color, lw=0.7, alpha=0.5, label=f"{_text(s.label)} (train batch)")
    for ax, name in zip(axes, [*names, "KL (sequence k1, nats)"]):
        role = "" if name.startswith("KL") else (" (proxy)" if any(name == s.meta["optimised"] for s in runs) else " (gold)")
        ax.set_title(_text(name) + role)
        ax.set_xlabel("step")
        ax.legend(loc="best")
    fig.suptitle("Reward and KL over training")
    return _save(fig, path)


def bon_curves(sources: list[Source], path: Path) -> Path | None:
    """Best-of-n: expected reward of the proxy-best of n (subset estimator) against n, and the two KLs."""
    bons = [s for s in sources if s.kind == "bon" and s.curves is not None]
    if not bons:
        return None
    plt = _plt()
    fig, axes = plt.subplots(len(bons), 2, figsize=(9, 3.2 * len(bons)), squeeze=False)
    for (ax_r, ax_kl), s in zip(axes, bons):
        c = s.curves
        for j, name in enumerate(c.names):
            role = "proxy" if name == c.proxy else "gold"
            ax_r.plot(c.x, c.mean(name), "-", color=f"C{j}", label=f"{_text(name)} ({role})")
        ax_r.set_xscale("log", base=2)
        ax_r.set_xlabel("n")
        ax_r.set_ylabel("E[reward of proxy-best of n]")
        ax_r.set_title(f"{_text(s.label)}: best-of-n, {c.rewards[c.proxy].shape[0]} prompts")
        ax_r.legend(loc="best")
        ax_kl.plot(c.x, np.nanmean(c.kl, 0), "-", color="k", label="log n − (n−1)/n (upper bound)")
        ax_kl.plot(c.x, np.nanmean(s.bon_beirami.kl, 0), "--", color="C3", label="Beirami et al. estimate")
        ax_kl.set_xscale("log", base=2)
        ax_kl.set_xlabel("n")
        ax_kl.set_ylabel("KL (nats)")
        ax_kl.set_title("KL(best-of-n ‖ reference)")
        ax_kl.legend(loc="best")
    return _save(fig, path)


def detector_traces(source: Source, path: Path) -> Path | None:
    """One panel per detector: value per evaluation step, threshold (dashed), onset (red) and the steps
    where each gold reward peaked (green, dotted)."""
    det = source.detection
    if det is None:
        return None
    plt = _plt()
    fig, axes = _grid(plt, len(det.detectors), size=(3.6, 2.6))
    for ax, d in zip(axes, det.detectors):
        values = np.array(det.traces[d.name], dtype=np.float64)
        ax.plot(det.steps, np.where(np.isfinite(values), values, np.nan), "o-", ms=3, color="C0")
        ax.axhline(d.threshold, ls="--", color="k", lw=0.8, label=f"threshold {d.threshold:g}")
        onset = det.onsets[d.name]
        if onset is not None:
            ax.axvline(onset, color="C3", lw=1.2, label=f"onset: step {onset}")
        for k, (gold, step) in enumerate(det.gold_peak_step.items()):
            ax.axvline(step, color="C2", ls=":", lw=1.2, label=f"gold {_text(gold)!r} peaks: step {step}" if k < 3 else None)
        ax.set_title(_text(d.name))
        ax.set_xlabel("step")
        ax.legend(loc="best")
    fig.suptitle(f"Hack detectors: {_text(source.label)}")
    return _save(fig, path)


def answer_words(source: Source, path: Path) -> Path | None:
    """The yes-spammer's stages for an RL run: per named word, the share of completions that start with it,
    repeat it and are mostly it (left), its count per completion (middle), and every reward on the same
    evaluation steps (right), so the stage that moved the judge and the step where the gold fell line up."""
    stages = source.answer_words
    if not stages:
        return None
    plt = _plt()
    fig, (ax_share, ax_count, ax_reward) = _grid(plt, 3, size=(4.2, 3.0))
    for i, w in enumerate(stages):
        color = f"C{i}"
        ax_share.plot(w.steps, w.starts, "o-", ms=3, color=color, label=f"starts with {w.word!r}")
        ax_share.plot(w.steps, w.repeated, "s--", ms=3, color=color, label=f"{w.word!r} twice or more")
        ax_share.plot(w.steps, w.spam, "^:", ms=3, color=color, label=f"mostly {w.word!r}")
        ax_count.plot(w.steps, w.per_completion, "o-", ms=3, color=color, label=repr(w.word))
    for name in [source.meta["optimised"], *source.meta.get("gold", [])]:
        pts = _eval_points(source, name)
        if pts:
            role = "proxy" if name == source.meta["optimised"] else "gold"
            ax_reward.plot(*zip(*pts), "o-", ms=3, label=f"{_text(name)} ({role})")
    for ax, title in [(ax_share, "share of evaluation completions"), (ax_count, "occurrences per completion"),
                      (ax_reward, "rewards (evaluation mean)")]:
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.legend(loc="best")
    ax_share.set_ylim(-0.03, 1.03)
    fig.suptitle(f"Answer words: {_text(source.label)}")
    return _save(fig, path)


def answer_words_across(sources: list[Source], path: Path) -> Path | None:
    """Two or more RL runs (seeds, settings): one panel per named word and stage, one line per run, so the
    rate at which runs reach each stage reads off one figure."""
    runs = [s for s in sources if s.answer_words]
    if len(runs) < 2:
        return None
    words = [w.word for w in runs[0].answer_words]
    stages = [("starts", "first word"), ("repeated", "twice or more"), ("spam", "mostly the word")]
    plt = _plt()
    fig, axes = _grid(plt, len(words) * len(stages), cols=len(stages), size=(3.8, 2.7))
    for k, word in enumerate(words):
        for j, (stage, title) in enumerate(stages):
            ax = axes[k * len(stages) + j]
            for i, s in enumerate(runs):
                w = next(w for w in s.answer_words if w.word == word)
                ax.plot(w.steps, getattr(w, stage), "o-", ms=3, color=f"C{i}", label=_text(s.label))
            ax.set_title(f"{word!r}: {title}")
            ax.set_xlabel("step")
            ax.set_ylim(-0.03, 1.03)
            ax.legend(loc="best")
    fig.suptitle("Answer words across runs: share of evaluation completions")
    return _save(fig, path)
