"""Fits: recover known (alpha, beta) from noisy synthetic curves, honest peaks and goodness of fit, and
loading RL run directories."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from rewardlab.measure.fits import FORMS, GoodhartData, fit, fit_all, load_curves


def synthetic(form: str, alpha: float, beta: float, P: int = 40, K: int = 25, noise: float = 0.05,
              d_max: float = 3.0, seed: int = 0) -> GoodhartData:
    """P prompts with their own baseline and noise around a known centred curve; per-prompt KL scatters
    around d^2 so that the bootstrap also moves the x axis."""
    rng = np.random.default_rng(seed)
    d = np.linspace(0, d_max, K)
    kl = d[None] ** 2 * rng.uniform(0.5, 1.5, (P, 1))
    kl *= (d**2 / np.maximum(kl.mean(0), 1e-12))[None]  # mean over prompts exactly d^2
    true = FORMS[form].basis(d) @ np.array([alpha, beta])
    values = rng.normal(0, 1, (P, 1)) + true[None] + noise * rng.normal(size=(P, K))
    return GoodhartData("synthetic", form, np.arange(K), kl, {"gold": values}, "gold", [], "synthetic")


@pytest.mark.parametrize("form,alpha,beta", [("bon", 1.0, 0.3), ("bon", 0.5, 0.1), ("rl", 0.8, 0.4), ("rl", 0.3, 0.25)])
def test_fit_recovers_known_parameters_with_calibrated_cis(form, alpha, beta):
    f = fit(synthetic(form, alpha, beta), "gold", n_boot=500)
    assert f.alpha == pytest.approx(alpha, rel=0.1, abs=0.03)
    assert f.beta == pytest.approx(beta, rel=0.1, abs=0.03)
    assert f.ci["alpha"][0] <= alpha <= f.ci["alpha"][1]
    assert f.ci["beta"][0] <= beta <= f.ci["beta"][1]
    d_true, r_true = (float(v) for v in FORMS[form].peak(np.array(alpha), np.array(beta)))
    assert f.d_star == pytest.approx(d_true, rel=0.15)
    assert f.r_star == pytest.approx(r_true, rel=0.15, abs=0.02)
    assert f.r2 > 0.95 and f.n_points == 24 and f.n_boot == 500 and f.peak_share > 0.9


@pytest.mark.parametrize("form", ["bon", "rl"])
def test_peak_is_the_maximum_of_the_fitted_form(form):
    rng = np.random.default_rng(1)
    for _ in range(20):
        a, b = rng.uniform(0.05, 2), rng.uniform(0.05, 2)
        d_star, r_star = (float(v) for v in FORMS[form].peak(np.array(a), np.array(b)))
        grid = np.linspace(1e-6, max(4 * d_star, 1.0), 200_001)
        pred = FORMS[form].basis(grid) @ np.array([a, b])
        assert grid[pred.argmax()] == pytest.approx(d_star, rel=1e-3, abs=1e-4)
        assert pred.max() == pytest.approx(r_star, rel=1e-6)


def test_no_peak_is_reported_as_such_not_invented():
    f = fit(synthetic("bon", 0.5, -0.1), "gold", n_boot=200)
    assert f.beta < 0 and math.isinf(f.d_star) and math.isinf(f.r_star)
    assert "no peak" in f.summary()
    assert f.peak_share < 0.1


def test_goodness_of_fit_is_low_on_noise():
    data = synthetic("bon", 0.0, 0.0, noise=1.0)
    f = fit(data, "gold", n_boot=100)
    assert f.r2 < 0.5
    assert f.ci["alpha"][0] < 0 < f.ci["alpha"][1]  # no effect: the interval covers zero


def test_too_few_points_is_an_error():
    data = synthetic("rl", 1.0, 0.5, K=2)
    with pytest.raises(Exception, match="at least 2"):
        fit(data, "gold")


def write_run(path: Path, steps: list[int], P: int, gold_fn, kl_fn, proxy_fn=lambda s, p: s / 10) -> Path:
    """A run directory with only what measurement reads: run.json, config.yaml, metrics and eval samples."""
    path.mkdir(parents=True)
    (path / "run.json").write_text(json.dumps({"optimised": "proxy", "gold": ["gold"]}))
    (path / "config.yaml").write_text("algo:\n  lr: 0.001\n")
    rows, metrics = [], []
    for s in steps:
        for p in range(P):
            for j in range(2):  # two samples per prompt: cell means must average them
                rows.append({"step": s, "prompt_id": p, "prompt": f"prompt {p}", "completion": f"text {s} {p} {j}",
                             "rewards": {"proxy": proxy_fn(s, p), "gold": gold_fn(s, p) + (0.1 if j else -0.1)},
                             "kl_k1": kl_fn(s, p), "kl_k3": kl_fn(s, p), "tokens": 3})
        metrics.append({"step": s, "eval/reward/proxy": s / 10, "reward/proxy": s / 10})
    (path / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (path / "metrics.jsonl").write_text("".join(json.dumps(m) + "\n" for m in metrics))
    return path


def test_rl_run_directory_loads_per_prompt_and_fits(tmp_path):
    alpha, beta = 1.0, 0.5

    def kl(s, p):
        return (s / 4) ** 2 * (1 + 0.2 * (p % 3 - 1))  # prompts differ; their mean is (s/4)^2

    def gold(s, p):
        d = s / 4
        return p + (d * (alpha - beta * math.log(d)) if d > 0 else 0.0)

    run = write_run(tmp_path / "run", list(range(0, 40, 4)), 6, gold, kl)
    data = load_curves(run)
    assert data.kind == "rl" and data.kl.shape == (6, 10) and list(data.x) == list(range(0, 40, 4))
    assert np.allclose(data.d, np.arange(10))
    assert np.allclose(data.centred("gold"), [0] + [d * (alpha - beta * math.log(d)) for d in range(1, 10)])
    fits = {f.reward: f for f in fit_all(data, n_boot=100)}
    assert fits["gold"].alpha == pytest.approx(alpha) and fits["gold"].beta == pytest.approx(beta)
    assert fits["gold"].r2 == pytest.approx(1.0)
    assert fits["gold"].d_star == pytest.approx(math.exp(alpha / beta - 1))
    assert fits["gold"].baseline == pytest.approx(np.mean(range(6)))  # the initial policy's absolute gold
    assert set(fits) == {"proxy", "gold"}


def test_fit_cli_on_a_run_directory(tmp_path, capsys):
    from rewardlab.cli import main

    run = write_run(tmp_path / "run", [0, 2, 4, 6], 3, lambda s, p: s - 0.1 * s * s, lambda s, p: s * s)
    assert main(["fit", str(run), "--reward", "gold", "--boot", "20"]) == 0
    assert "gold" in capsys.readouterr().out
    assert main(["fit", str(tmp_path)]) == 2  # neither a run nor a BoN directory
