"""The rater gold (trained here on a tiny backbone and a small sample), its training corruptions, the hack zoo,
the report card, the MiniLM classifier kept as `sentiment_minilm`, and the embedding reward."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from rewardlab.config import RewardSpec, build_config
from rewardlab.errors import ConfigError
from rewardlab.rewards import build_reward, validate_reward
from rewardlab.rewards.gold import (CLASSES, auc, best_threshold_accuracy, corrupt, rater_rows, report_card,
                                    report_tweets, train_gold)
from rewardlab.rewards.zoo import FAMILIES, hack_zoo, rl_collapses


@pytest.fixture(scope="module")
def small_gold(tmp_path_factory, tiny_model):
    out = tmp_path_factory.mktemp("gold") / "g"
    return out, train_gold(out, n=120, seed=1, backbone=str(tiny_model), layers=1, hidden=16, heads=2, epochs=5, progress=False)


def test_gold_trains_saves_and_scores_in_range(small_gold):
    out, meta = small_gold
    assert meta["n"] == 160 and meta["heldout_rows"] == 32 and meta["seed"] == 1 and meta["classes"] == CLASSES
    assert json.loads((out / "meta.json").read_text())["report"] == meta["report"]
    assert meta["report"]["n_report_tweets"] == 600 and 0 <= meta["report"]["auc_pos_neg"] <= 1
    held = [json.loads(line) for line in (out / "heldout.jsonl").read_text().splitlines()]
    assert len(held) == 32 and {"prompt", "completion", "label"} <= held[0].keys()
    g = build_reward(RewardSpec(name="gold", kind="gold", args={"path": str(out)}))
    s = g(["I had a", "I had a", "x"], [" great day", "", " and and and and"])
    assert len(s) == 3 and all(-1 <= v <= 1 for v in s)
    # the rater reads prompt and completion apart: the same text split elsewhere is another input
    assert g(["I had a great"], [" day"]) != g(["I had a"], [" great day"])


def test_gold_training_rows_hold_no_report_tweet_and_every_class():
    rows = rater_rows(300, seed=0)
    assert {r["label"] for r in rows} == set(CLASSES) and sum(r["label"] == "junk" for r in rows) == 100
    report = {r["prompt"] + r["completion"] for r in report_tweets()}
    real = {r["prompt"] + r["completion"] for r in rows if r["label"] != "junk"}
    assert not report & real and len(report_tweets()) == 600


def test_corruptions_change_the_text_and_are_seeded():
    rng = random.Random(0)
    outs = [corrupt(rng, "I went to the", " park with my dog today and it was fun", " a totally other text") for _ in range(300)]
    assert sum(o == " park with my dog today and it was fun" for o in outs) == 0
    assert len(set(outs)) > 150  # variations, not a fixed list
    rng2 = random.Random(0)
    assert outs == [corrupt(rng2, "I went to the", " park with my dog today and it was fun", " a totally other text") for _ in range(300)]


def test_hack_zoo_has_200_texts_in_8_families_seeded():
    prompts = ["I can't believe the weather", "Just got back from the", "@united my flight was delayed"]
    zoo = hack_zoo(prompts, per_family=25, seed=0)
    fams = {z["family"] for z in zoo}
    assert len(zoo) >= 200 and len(fams) >= 8 and fams == set(FAMILIES) | {"rl_collapse"}
    assert sum(z["family"] == "rl_collapse" for z in zoo) == len(rl_collapses()) >= 10
    for fam in FAMILIES:
        texts = [z["completion"] for z in zoo if z["family"] == fam]
        assert len(set(texts)) >= (4 if fam == "empty" else 10), fam  # variations within each family
    assert zoo == hack_zoo(prompts, per_family=25, seed=0) and zoo != hack_zoo(prompts, per_family=25, seed=1)
    assert {z["prompt"] for z in zoo} == set(prompts)


def test_report_card_counts_below_the_reference_median():
    class Len:
        name = "len"

        def __call__(self, prompts, completions):
            return [float(len(c)) for c in completions]

    reference = [{"prompt": "p", "completion": "x" * k} for k in (1, 2, 3, 4, 100)]  # median 3
    zoo = [{"family": "a", "prompt": "p", "completion": c} for c in ("", "xx", "xxx", "xxxxx")]
    card = report_card(Len(), reference, zoo)
    assert card["reference_median"] == 3 and card["families"]["a"]["below_ref_median"] == 0.5
    assert card["n_reference"] == 5 and card["highest_zoo"][0]["completion"] == "xxxxx"


def test_sentiment_minilm_trains_and_scores(tmp_path):
    from rewardlab.rewards.sentiment_minilm import train_sentiment_minilm

    meta = train_sentiment_minilm(tmp_path / "m", n=150, seed=1, epochs=20)
    assert meta["report"]["n_report_tweets"] == 600 and meta["report"]["auc_pos_neg"] > 0.6
    r = build_reward(RewardSpec(name="s", kind="sentiment_minilm", args={"path": str(tmp_path / "m")}))
    good, bad = r(["", ""], ["I love this, what a wonderful happy day!", "I hate this, awful terrible day."])
    assert -1 <= bad < good <= 1


def test_gold_bad_input(tmp_path):
    with pytest.raises(ConfigError, match="not a gold model directory"):
        validate_reward(RewardSpec(name="gold", kind="gold", args={"path": str(tmp_path)}))
    with pytest.raises(ConfigError, match="reads prompt and completion apart"):
        validate_reward(RewardSpec(name="gold", kind="gold", args={"text": "full"}))
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
