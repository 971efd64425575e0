"""Best-of-n: the subset estimator against brute force, the KL estimates against exact values, and the
directory workflow (sample once, cache, re-score without resampling) on a tiny model."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from rewardlab.config import load_reward_spec
from rewardlab.errors import ConfigError
from rewardlab.measure import bon
from rewardlab.measure.bon import (
    BonDir,
    bon_weights,
    expected_best_of_n,
    kl_bon_beirami,
    kl_bon_bound,
    load_bon_config,
    rescore,
    run_bon,
)
from rewardlab.config import RewardSpec


def brute_force(proxy: np.ndarray, gold: np.ndarray, n: int) -> float:
    """Average over every n-subset of the gold of its proxy-argmax; ties share the pick equally."""
    total, count = 0.0, 0
    for subset in itertools.combinations(range(len(proxy)), n):
        best = max(proxy[i] for i in subset)
        tied = [gold[i] for i in subset if proxy[i] == best]
        total += sum(tied) / len(tied)
        count += 1
    return total / count


@pytest.mark.parametrize("N", [1, 2, 5, 8])
@pytest.mark.parametrize("ties", [False, True])
def test_estimator_matches_brute_force(N, ties):
    rng = np.random.default_rng(N + 10 * ties)
    proxy = rng.integers(0, 3, N).astype(float) if ties else rng.normal(size=N)
    gold = rng.normal(size=N)
    est = expected_best_of_n(proxy, gold)
    assert est.shape == (N,)
    for n in range(1, N + 1):
        assert est[n - 1] == pytest.approx(brute_force(proxy, gold, n), abs=1e-12)
    assert est[0] == pytest.approx(gold.mean())  # n = 1 is the reference policy's mean
    assert est[-1] == pytest.approx(gold[proxy == proxy.max()].mean())  # n = N: the (tie-averaged) argmax


def test_weights_are_distributions_and_stable_for_large_N():
    for N in (1, 7, 2000):
        W = bon_weights(N)
        assert np.allclose(W.sum(1), 1.0)
        assert np.all(W >= 0) and np.all(np.isfinite(W))
    # unbiasedness in expectation: over many draws of N samples, the estimate at n equals E[max of n]
    rng = np.random.default_rng(0)
    ests = [expected_best_of_n(x, x)[3] for x in rng.uniform(size=(4000, 10))]
    assert np.mean(ests) == pytest.approx(4 / 5, abs=5e-3)  # E[max of 4 U(0,1)] = 4/5


def exact_kl(masses: np.ndarray, n: int) -> float:
    """KL(best-of-n || reference) for a discrete reference with outcomes listed by increasing reward."""
    F = np.cumsum(masses)
    pn = F**n - np.concatenate([[0.0], F[:-1]]) ** n
    keep = pn > 0
    return float(np.sum(pn[keep] * np.log(pn[keep] / masses[keep])))


@pytest.mark.parametrize("eps", [0.0, 0.01, 0.1, 0.5])
def test_beirami_estimate_is_exact_for_atom_plus_continuum_and_below_the_bound(eps):
    M = 200_000  # the continuous part as a fine grid of tiny atoms
    masses = np.concatenate([np.full(M, (1 - eps) / M), [eps] if eps > 0 else []])
    for n in (1, 2, 4, 16, 64):
        est = float(kl_bon_beirami(n, eps))
        assert est == pytest.approx(exact_kl(masses, n), abs=2e-3)
        assert est <= float(kl_bon_bound(n)) + 1e-12
    assert float(kl_bon_beirami(1000, 0.5)) == pytest.approx(np.log(2), abs=1e-6)  # saturates at log(1/eps)
    assert float(kl_bon_beirami(5, 1.0)) == 0.0


def test_kl_bound_values():
    assert float(kl_bon_bound(1)) == 0.0
    assert float(kl_bon_bound(4)) == pytest.approx(np.log(4) - 0.75)


# ---- directory workflow ------------------------------------------------------------------------------


def write_config(tmp_path: Path, model: Path, **bon_settings) -> Path:
    cfg = {
        "model": {"name": str(model)},
        "data": {"prompts": "builtin:stories", "num_eval_prompts": 3},
        "sampling": {"max_new_tokens": 6},
        "rewards": {
            "proxy": {"name": "length", "path": "rewardlab.rewards.builtin:length_reward"},
            "gold": [{"name": "the", "path": "rewardlab.rewards.builtin:word_count", "args": {"word": "the"}}],
        },
        "bon": {"n": 5, "batch_size": 4, "out_dir": str(tmp_path / "runs"), **bon_settings},
        "train": {"steps": 3},  # an RL config works too: its RL-only sections are dropped
    }
    path = tmp_path / "bon.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_bon_directory_samples_once_and_rescores_without_resampling(tmp_path, tiny_model, monkeypatch):
    cfg, dropped = load_bon_config(write_config(tmp_path, tiny_model))
    assert dropped == ["train"]
    d = run_bon(cfg, progress=False)
    rows = d.rows()
    assert len(rows) == 3 * 5 and {r["prompt_id"] for r in rows} == {0, 1, 2}
    assert all(set(r["rewards"]) == {"length", "the"} for r in rows)
    curve = [json.loads(line) for line in d.curve_path.read_text().splitlines()]
    assert [c["n"] for c in curve] == [1, 2, 3, 4, 5]
    assert all(c["kl_beirami"] <= c["kl_bound"] + 1e-12 for c in curve)
    # curve.jsonl agrees with the estimator applied prompt by prompt
    p0 = [r for r in rows if r["prompt_id"] == 0]
    est = expected_best_of_n([r["rewards"]["length"] for r in p0], [r["rewards"]["the"] for r in p0])
    assert curve[-1]["reward/length"] >= curve[0]["reward/length"]
    assert np.isfinite(est).all()

    # from here on, sampling is forbidden: the cache must serve every call
    def no_sampling(*a, **k):
        raise AssertionError("resampled")

    monkeypatch.setattr(bon, "_sample_all", no_sampling)
    spec = tmp_path / "a.yaml"
    spec.write_text(yaml.safe_dump({"name": "a_count", "path": "rewardlab.rewards.builtin:word_count", "args": {"word": "a"}}))
    rescore(d.path, [load_reward_spec(spec)], progress=False)
    assert BonDir(d.path).meta()["gold"] == ["the", "a_count"]
    assert all("a_count" in r["rewards"] for r in BonDir(d.path).rows())
    assert [r["completion"] for r in BonDir(d.path).rows()] == [r["completion"] for r in rows]
    assert "reward/a_count" in json.loads(d.curve_path.read_text().splitlines()[0])

    # the same config again: cached samples, nothing re-scored, rescored gold kept
    again = run_bon(cfg, progress=False)
    assert again.meta()["gold"] == ["the", "a_count"]

    # another sampling config must not silently reuse these samples
    cfg2, _ = load_bon_config(write_config(tmp_path, tiny_model, run_name=d.path.name), ["sampling.temperature=0.5"])
    with pytest.raises(Exception, match="another config"):
        run_bon(cfg2, progress=False)
    with pytest.raises(Exception, match="proxy"):
        rescore(d.path, [RewardSpec(name="length", path="rewardlab.rewards.builtin:length_reward")], progress=False)


def test_bon_and_fit_from_the_cli(tmp_path, tiny_model, capsys):
    from rewardlab.cli import main

    config = write_config(tmp_path, tiny_model, n=6)
    assert main(["bon", str(config), "--no-progress"]) == 0
    out_dir = tmp_path / "runs" / "bon-length-n6-s0"
    assert BonDir.is_bon(out_dir)
    spec = tmp_path / "b.yaml"
    spec.write_text(yaml.safe_dump({"name": "and_count", "path": "rewardlab.rewards.builtin:word_count", "args": {"word": "and"}}))
    assert main(["bon", "--rescore", str(out_dir), "--reward", str(spec), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["fit", str(out_dir), "--json", "--boot", "50"]) == 0
    fits = json.loads(capsys.readouterr().out)
    assert {f["reward"] for f in fits} == {"length", "the", "and_count"}
    assert all(f["form"] == "bon" and "r2" in f and "ci" in f for f in fits)
    assert main(["bon", "--rescore", str(tmp_path)]) == 2  # not a BoN dir / no --reward: one-line error


def test_samples_from_selects_by_another_proxy_without_sampling(tmp_path, tiny_model, monkeypatch):
    first = run_bon(load_bon_config(write_config(tmp_path, tiny_model))[0], progress=False)
    monkeypatch.setattr(bon, "_sample_all", lambda *a, **k: (_ for _ in ()).throw(AssertionError("resampled")))
    scored = []
    real_score = bon._score
    monkeypatch.setattr(bon, "_score", lambda rows, spec, *a: (scored.append(spec.name), real_score(rows, spec, *a)))
    # select by "the" now, watch length: both scores are reused, nothing is sampled or scored again
    cfg, _ = load_bon_config(write_config(tmp_path, tiny_model, run_name="by-the", samples_from=str(first.path)), [
        "rewards.proxy={name: the, path: 'rewardlab.rewards.builtin:word_count', args: {word: the}}",
        "rewards.gold=[{name: length, path: 'rewardlab.rewards.builtin:length_reward'}]"])
    second = run_bon(cfg, progress=False)
    assert scored == [] and second.meta()["optimised"] == "the" and second.meta()["samples_from"] == str(first.path)
    assert second.rows() == first.rows()
    c = second.curves()
    assert c.values["the"][:, -1].mean() >= c.values["the"][:, 0].mean()  # selecting by "the" raises it
    # samples drawn with another config are refused
    other, _ = load_bon_config(write_config(tmp_path, tiny_model, run_name="x", samples_from=str(first.path)),
                               ["sampling.max_new_tokens=3"])
    with pytest.raises(ConfigError, match="sampled with another config"):
        run_bon(other, progress=False)
    with pytest.raises(ConfigError, match="not a best-of-n directory"):
        run_bon(cfg.model_copy(update={"bon": cfg.bon.model_copy(update={"run_name": "y", "samples_from": str(tmp_path)})}),
                progress=False)
