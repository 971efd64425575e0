"""Learned reward models: training reduces held-out loss on a synthetic task whose true reward is known;
disjoint splits are disjoint; bad input fails before training; the LM backbone trains on the tiny model."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from rewardlab.config import RewardSpec
from rewardlab.errors import ConfigError
from rewardlab.rewards import build_reward, validate_reward
from rewardlab.rewards.learned import TrainArgs, fit, load_scorer, make_head, pairs, split_indices, train_rm

HAPPY = ["wonderful", "joy", "delight", "love", "sunshine", "smile"]
SAD = ["grief", "awful", "misery", "hate", "pain", "tears"]
FILLER = ["table", "street", "window", "paper", "number", "train", "garden"]


def synthetic_rows(n: int, seed: int = 0) -> list[dict]:
    """Texts whose true reward is (#happy words - #sad words)."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        h, s = rng.randint(0, 3), rng.randint(0, 3)
        words = rng.sample(HAPPY, h) + rng.sample(SAD, s) + rng.sample(FILLER, 3)
        rng.shuffle(words)
        rows.append({"id": i, "prompt_id": i, "prompt": "Say: ", "completion": " ".join(words), "gold": float(h - s)})
    return rows


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    path = tmp_path_factory.mktemp("labels") / "labels.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in synthetic_rows(160)))
    return path


def test_fit_recovers_a_known_linear_reward():
    import torch

    gen = torch.Generator().manual_seed(0)
    x, w = torch.randn(400, 16, generator=gen), torch.randn(16, generator=gen)
    y = x @ w
    head = make_head(16, 8, 0, 1)
    train, held = torch.arange(300), torch.arange(300, 400)

    def held_loss() -> float:
        with torch.no_grad():
            return float(((head(x[held])[:, 0] - y[held]) ** 2).mean())

    hist = fit(list(head.parameters()), lambda i: ((head(x[train[i]])[:, 0] - y[train[i]]) ** 2).mean(), 300, held_loss,
               epochs=200, lr=3e-2, weight_decay=0.0, batch_size=64, seed=0)
    assert hist[-1] < 0.01 * hist[0]


@pytest.mark.parametrize("objective", ["pointwise", "pairwise"])
def test_rm_training_reduces_heldout_loss(labelled, tmp_path, objective):
    report = train_rm(labelled, TrainArgs(objective=objective, hidden=32, epochs=40, lr=3e-3), tmp_path / "rm")
    assert report["heldout_loss_after"] < 0.6 * report["heldout_loss_before"]
    assert report["heldout_pearson"] > 0.7 and report["heldout_pair_accuracy"] > 0.75
    r = build_reward(RewardSpec(name="rm", kind="learned", args={"path": str(tmp_path / "rm")}))
    happy, sad = r(["", ""], ["love joy smile table", "grief pain tears table"])
    assert happy > sad


def test_disjoint_splits_are_disjoint(labelled, tmp_path):
    held, parts = split_indices(101, 0.2, 3, data_seed=0)
    sets = [set(held.tolist())] + [set(p.tolist()) for p in parts]
    assert sum(len(s) for s in sets) == 101 and len(set().union(*sets)) == 101  # a partition
    for k in range(2):
        train_rm(labelled, TrainArgs(splits=2, split=k, epochs=1, seed=k), tmp_path / f"s{k}")
    m0, m1 = (json.loads((tmp_path / f"s{k}" / "meta.json").read_text()) for k in range(2))
    assert not set(m0["train_ids"]) & set(m1["train_ids"])
    assert m0["heldout_ids"] == m1["heldout_ids"] and not set(m0["heldout_ids"]) & set(m0["train_ids"] + m1["train_ids"])


def test_label_budget_and_noise_knobs(labelled, tmp_path):
    clean = train_rm(labelled, TrainArgs(n_labels=60, hidden=32, epochs=40, lr=3e-3), tmp_path / "clean")
    noisy = train_rm(labelled, TrainArgs(n_labels=60, hidden=32, epochs=40, lr=3e-3, label_noise=5.0), tmp_path / "noisy")
    assert clean["train_rows"] == noisy["train_rows"] == 60
    assert noisy["heldout_pearson"] < clean["heldout_pearson"]


def test_pairs_prefer_the_higher_score():
    scores = np.array([0.0, 3.0, 1.0, 1.0, 5.0, 2.0, 2.0])
    p = pairs(scores, np.random.default_rng(0))
    assert len(set(p.ravel().tolist())) == p.size and (scores[p[:, 0]] > scores[p[:, 1]]).all()


def test_learned_on_the_fly_is_cached(labelled, tmp_path, monkeypatch):
    monkeypatch.setenv("REWARDLAB_CACHE", str(tmp_path))
    spec = RewardSpec(name="rm", kind="learned", args={"data": str(labelled), "epochs": 5, "splits": 2, "split": 1})
    a = build_reward(spec)([""], ["love joy"])
    assert len(list((tmp_path / "rm").iterdir())) == 1
    assert build_reward(spec)([""], ["love joy"]) == a  # loaded from the cache, not retrained


def test_learned_bad_input(labelled, tmp_path):
    small = tmp_path / "small.jsonl"
    small.write_text("".join(json.dumps(r) + "\n" for r in synthetic_rows(9)))
    with pytest.raises(ConfigError, match="too small to split"):
        validate_reward(RewardSpec(name="rm", kind="learned", args={"data": str(small), "splits": 2}))
    with pytest.raises(ConfigError, match="exactly one of path"):
        validate_reward(RewardSpec(name="rm", kind="learned", args={}))
    with pytest.raises(ConfigError, match="apply to args.data only"):
        validate_reward(RewardSpec(name="rm", kind="learned", args={"path": str(tmp_path), "epochs": 3}))
    with pytest.raises(ConfigError, match="no meta.json"):
        validate_reward(RewardSpec(name="rm", kind="learned", args={"path": str(tmp_path)}))
    with pytest.raises(ConfigError, match="split=2 must be < splits=2"):
        validate_reward(RewardSpec(name="rm", kind="learned", args={"data": str(labelled), "splits": 2, "split": 2}))
    with pytest.raises(ConfigError, match="args.hiden: unknown key"):
        validate_reward(RewardSpec(name="rm", kind="learned", args={"data": str(labelled), "hiden": 3}))
    with pytest.raises(ConfigError, match="labelled data not found"):
        validate_reward(RewardSpec(name="rm", kind="learned", args={"data": str(tmp_path / "none.jsonl")}))


def test_lm_backbone_rm_on_tiny_model(labelled, tiny_model, tmp_path):
    args = TrainArgs(backbone="lm", model=str(tiny_model), objective="pairwise", epochs=3, lr=1e-2, lora_r=4, batch_size=16)
    report = train_rm(labelled, args, tmp_path / "lm-rm")
    assert report["heldout_loss_after"] < report["heldout_loss_before"]
    assert (tmp_path / "lm-rm" / "adapter").is_dir()
    scorer = load_scorer(tmp_path / "lm-rm")
    r = build_reward(RewardSpec(name="rm", kind="learned", args={"path": str(tmp_path / "lm-rm")}))
    scores = r(["", ""], ["love joy smile", "grief pain"])
    np.testing.assert_allclose(scores, scorer(["love joy smile", "grief pain"]), rtol=1e-5)
    assert np.isfinite(scores).all()


def test_training_a_reward_model_leaves_the_global_random_stream_alone(labelled, tmp_path):
    """Building a reward (first use) must not re-seed the caller: a run would otherwise draw other numbers
    the first time than later, when the reward model is cached."""
    import torch

    from rewardlab.rewards.sentiment_minilm import train_sentiment_minilm

    for build in (lambda: train_rm(labelled, TrainArgs(epochs=2, seed=7), tmp_path / "rm"),
                  lambda: train_sentiment_minilm(tmp_path / "m", n=60, seed=7, epochs=2)):
        torch.manual_seed(123)
        expected = torch.rand(3)
        torch.manual_seed(123)
        build()
        assert torch.equal(torch.rand(3), expected)
