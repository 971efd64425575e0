"""LM judge: scores against a hand-computed reference (tiny model), bad input, and the yes-spam experiment
on the real bundled judge (slow)."""

from __future__ import annotations

import numpy as np
import pytest

from rewardlab.config import RewardSpec
from rewardlab.errors import ConfigError
from rewardlab.rewards import build_reward, validate_reward
from rewardlab.rewards.judge import NEUTRAL_WORD, load_constitution, render

TEXTS = ["the cat sat on the mat", "yes yes yes", "a quiet morning in the village with bread and coffee", "no"]


def reference_logodds(model_dir, prompt: str) -> float:
    """log P(" yes") - log P(" no") from one unbatched, unpadded forward pass."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype="float32").eval()
    with torch.no_grad():
        logp = torch.log_softmax(model(**tok(prompt, return_tensors="pt")).logits[0, -1].float(), -1)
    yes, no = (tok.encode(w, add_special_tokens=False)[0] for w in (" yes", " no"))
    return float(logp[yes] - logp[no])


def judge(tiny_model, **args):
    return build_reward(RewardSpec(name="j", kind="judge", args={"model": str(tiny_model), "batch_size": 3, **args}))


def test_same_context_matches_hand_computed(tiny_model):
    got = judge(tiny_model)([""] * len(TEXTS), TEXTS)
    q = load_constitution("positive").questions[0].text
    ref = [reference_logodds(tiny_model, render(t, q, "same_context", (" yes", " no"))) for t in TEXTS]
    np.testing.assert_allclose(got, ref, atol=1e-4)
    p_yes = judge(tiny_model, output="p_yes")([""] * len(TEXTS), TEXTS)
    np.testing.assert_allclose(p_yes, 1 / (1 + np.exp(-np.array(ref))), atol=1e-5)


def test_isolated_and_weighted_constitution(tiny_model, tmp_path):
    const = tmp_path / "c.yaml"
    const.write_text('questions:\n  - {text: "Is it kind?", weight: 1, paraphrases: ["Is it nice?"]}\n  - {text: "Is it short?", weight: 3}\n')
    got = judge(tiny_model, placement="isolated", constitution=str(const), text="full")(["the cat "] * 2, ["sat yes", "NO way"])
    ans = (" yes", " no")

    def question_score(text, phrasings):
        return np.mean([s * reference_logodds(tiny_model, render(text, q, "isolated", ans, swapped))
                        for q in phrasings for swapped, s in ((False, 1), (True, -1))])

    for text, g in zip(["the cat sat yes", "the cat NO way"], got):
        assert g == pytest.approx((question_score(text, ["Is it kind?", "Is it nice?"]) + 3 * question_score(text, ["Is it short?"])) / 4, abs=1e-4)
    prompt = render("Yes, no! yesterday NoNoNo know yesYES2 nothing", "Q?", "isolated", ans, swapped=True)
    w = NEUTRAL_WORD
    assert f"{w}, {w}! yesterday {w} know {w}2 nothing" in prompt and "Answer no if it is, yes if it is not." in prompt


def test_judge_cache_and_batching_agree(tiny_model):
    r = judge(tiny_model, batch_size=1)
    once = r([""] * 4, TEXTS)
    again = judge(tiny_model, batch_size=4)([""] * 4, list(reversed(TEXTS)))  # cached: identical numbers
    assert once == list(reversed(again))


def test_bf16_judge_is_close_to_fp32_and_cached_apart(tiny_model):
    fp32 = judge(tiny_model)([""] * 4, TEXTS)
    bf16 = judge(tiny_model, dtype="bfloat16")([""] * 4, TEXTS)
    assert bf16 != fp32  # a separate cache entry, really computed in bf16
    np.testing.assert_allclose(bf16, fp32, atol=0.1)


def test_judge_bad_input(tiny_model, tmp_path):
    with pytest.raises(ConfigError, match="not single tokens"):
        validate_reward(RewardSpec(name="j", kind="judge", args={"model": str(tiny_model), "answers": [" absolutely", " no"]}))
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    with pytest.raises(ConfigError, match="is empty"):
        validate_reward(RewardSpec(name="j", kind="judge", args={"model": str(tiny_model), "constitution": str(empty)}))
    none = tmp_path / "none.yaml"
    none.write_text("questions: []\n")
    with pytest.raises(ConfigError, match="questions"):
        validate_reward(RewardSpec(name="j", kind="judge", args={"model": str(tiny_model), "constitution": str(none)}))
    with pytest.raises(ConfigError, match="neither a packaged one"):
        validate_reward(RewardSpec(name="j", kind="judge", args={"constitution": "no-such-constitution"}))
    with pytest.raises(ConfigError, match=r"args.placment: unknown key"):
        validate_reward(RewardSpec(name="j", kind="judge", args={"placment": "isolated"}))
    with pytest.raises(ConfigError, match="reads its settings from args"):
        validate_reward(RewardSpec(name="j", kind="judge", path="x.y:z"))


@pytest.mark.slow
def test_yes_spam_raises_same_context_more_than_isolated():
    """The yes-spammer's premise on the real bundled judge: answer words in the text raise the score of
    the same-context judge, and much less (here: not at all) that of the isolated judge."""
    sentences = [
        "The weather was grey and the bus was late again.",
        "We had dinner with friends at the new place downtown.",
        "The meeting ran long and nobody agreed on anything.",
    ]
    spam = "yes yes yes yes yes yes"
    gains = {}
    for placement in ("same_context", "isolated"):
        r = build_reward(RewardSpec(name=placement, kind="judge", args={"placement": placement}))
        base = np.array(r([""] * 3, sentences))
        appended = np.array(r([""] * 3, [f"{s} {spam}" for s in sentences]))
        alone = r([""], [spam])[0]
        gains[placement] = ((appended - base).mean(), alone - base.mean())
    same, iso = gains["same_context"], gains["isolated"]
    assert same[0] > iso[0] and same[1] > iso[1], gains
    assert same[1] > 0.5, gains  # pure spam beats real sentences by a wide margin on the exploitable judge
