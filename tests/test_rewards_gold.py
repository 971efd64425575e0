"""The tweet-sentiment gold (trained on a small sample here), the embedding reward, and the metrics that
compare a gold with its proxies."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rewardlab.config import RewardSpec, build_config
from rewardlab.errors import ConfigError
from rewardlab.rewards import build_reward, validate_reward
from rewardlab.rewards.gold import auc, best_threshold_accuracy, compare, train_gold


@pytest.fixture(scope="module")
def small_gold(tmp_path_factory):
    out = tmp_path_factory.mktemp("gold") / "g"
    return out, train_gold(out, n=240, seed=1)


def test_gold_trains_saves_and_scores(small_gold):
    out, meta = small_gold
    assert meta["n"] == 240 and meta["heldout_rows"] == 48 and meta["seed"] == 1
    assert meta["report"]["accuracy_3class"] > 0.45  # chance is 1/3 on the balanced held-out set
    assert json.loads((out / "meta.json").read_text())["report"] == meta["report"]
    assert len((out / "heldout.jsonl").read_text().splitlines()) == 48
    g = build_reward(RewardSpec(name="gold", kind="gold", args={"path": str(out)}))
    good, bad = g(["", ""], ["I love this, what a wonderful happy day!", "I hate this, awful terrible day."])
    assert -1 <= bad < good <= 1
    rows = compare(out, [g], limit=20)
    assert rows[0]["reward"] == "gold" and rows[0]["n"] <= 20 and 0 <= rows[0]["acc_best"] <= 1


def test_gold_bad_input(tmp_path):
    with pytest.raises(ConfigError, match="not a gold model directory"):
        validate_reward(RewardSpec(name="gold", kind="gold", args={"path": str(tmp_path)}))
    with pytest.raises(ConfigError, match="gold .* is the optimised proxy"):
        spec = {"name": "p", "kind": "judge", "args": {"placement": "isolated"}}
        build_config({"rewards": {"proxy": spec, "gold": [{**spec, "name": "g"}]}})


def test_classifier_metrics_against_brute_force():
    rng = np.random.default_rng(0)
    s, y = rng.normal(size=60).round(1), rng.random(60) < 0.4  # rounding makes ties
    pos, neg = s[y], s[~y]
    brute_auc = np.mean([1.0 if p > n else 0.5 if p == n else 0.0 for p in pos for n in neg])
    assert auc(s, y) == pytest.approx(brute_auc)
    thresholds = np.concatenate([[-np.inf], np.unique(s), [np.inf]])
    brute_acc = max(max(((s > t) == y).mean(), ((s >= t) == y).mean()) for t in thresholds)
    assert best_threshold_accuracy(s, y) == pytest.approx(brute_acc)


def test_embedding_reward_is_weighted_cosine(tmp_path):
    from rewardlab.embed import embed

    targets = ["a wedding party with music", "a careful proof of a theorem"]
    e = embed(targets)
    np.save(tmp_path / "t.npy", e)  # (2, D): similarities to both rows are averaged
    texts = ["dancing at the wedding", "the lemma follows by induction"]
    x = embed(texts)
    r = build_reward(RewardSpec(name="emb", kind="embedding", args={"targets": [{"text": targets[0], "weight": 3.0}, {"text": targets[1]}]}))
    np.testing.assert_allclose(r(["", ""], texts), (3 * x @ e[0] + x @ e[1]) / 4, atol=1e-5)
    r2 = build_reward(RewardSpec(name="emb", kind="embedding", args={"targets": [{"npy": str(tmp_path / "t.npy")}]}))
    np.testing.assert_allclose(r2(["", ""], texts), (x @ e.T).mean(1), atol=1e-5)
    np.save(tmp_path / "bad.npy", np.ones((2, 3, 4)))
    for targets_arg, msg in [([{"npy": str(tmp_path / "bad.npy")}], "shape"), ([{"npy": str(tmp_path / "no.npy")}], "not found"),
                             ([{"text": "a", "npy": str(tmp_path / "t.npy")}], "exactly one"), ([], "at least 1")]:
        with pytest.raises(ConfigError, match=msg):
            validate_reward(RewardSpec(name="emb", kind="embedding", args={"targets": targets_arg}))
    np.save(tmp_path / "d7.npy", np.ones(7))
    with pytest.raises(ConfigError, match="dimension 7"):
        build_reward(RewardSpec(name="emb", kind="embedding", args={"targets": [{"npy": str(tmp_path / "d7.npy")}]}))


def test_tweet_prompts_are_clean_ascii():
    """The corpus's non-ASCII characters are encoding damage; prompts built from it must not carry them."""
    from rewardlab.data import load_prompt_source

    prompts = load_prompt_source("builtin:tweets")
    assert len(prompts) > 20000 and all(p.isascii() and "\ufffd" not in p for p in prompts)
