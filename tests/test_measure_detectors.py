"""Detectors fire on constructed degenerate samples, at the right step, and stay silent on the base model."""

from __future__ import annotations

import json
import zlib

import numpy as np
import pytest

from rewardlab.measure.detectors import default_detectors, detect, run_detectors, tokens

NORMAL = [
    "The old lighthouse keeper climbed the stairs, counting each step as the storm rolled in.",
    "Maya opened the letter slowly; inside was a map she had never seen before.",
    "By noon the market was loud with fishmongers shouting prices over one another.",
    "He had promised to fix the bicycle by Friday, but the parts never arrived.",
    "A fox watched the farmhouse from the edge of the frozen field.",
    "The train was late again, so she read another chapter of her book.",
    "Grandpa's garden smelled of tomatoes and wet earth after the rain.",
    "Nobody in the village remembered who had planted the enormous oak.",
]


def bag_of_words(texts: list[str]) -> np.ndarray:
    """A stand-in embedder: hashed bag of words, unit norm. Same words → same vector."""
    out = np.zeros((len(texts), 256))
    for i, t in enumerate(texts):
        for tok in tokens(t):
            out[i, zlib.crc32(tok.encode()) % 256] += 1
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def rows_for(step: int, completions: list[str]) -> list[dict]:
    return [{"step": step, "prompt_id": i, "prompt": f"p{i}", "completion": c, "rewards": {}} for i, c in enumerate(completions)]


def fired(completions: list[str], baseline: list[str] = NORMAL, **kw) -> set[str]:
    det = run_detectors(rows_for(0, baseline) + rows_for(1, completions), default_detectors(["yes"], bag_of_words, **kw))
    assert not any(v for v in det.onsets.values() if v == 0), det.traces  # the baseline itself is clean
    return {name for name, onset in det.onsets.items() if onset == 1}


def test_each_degeneration_fires_its_detector():
    assert fired(NORMAL) == set()
    assert "named_token_share" in fired([t + " yes yes yes yes yes yes" for t in NORMAL])
    assert "top_token_share" in fired(["!!!!!!!!!!!! wow !!!!!!!!!!!!" for _ in NORMAL][:4] + NORMAL[4:])
    looped = [" ".join([t.split()[0], "and then it happened"] * 6) for t in NORMAL]
    assert {"repeated_3", "distinct_2"} <= fired(looped)
    same = ["We gathered for the wedding party and everyone danced all night long." for _ in NORMAL]
    assert "semantic_collapse" in fired(same)
    assert "length_drift" in fired([(t + " ") * 3 for t in NORMAL])
    assert "length_drift" in fired(["" for _ in NORMAL])


def test_collapse_ignores_agreement_within_one_prompt():
    rows = rows_for(0, NORMAL)
    rows += [dict(r, step=1) for r in rows] + [dict(r, step=1) for r in rows]  # each prompt answered twice, identically
    det = run_detectors(rows, default_detectors(embed=bag_of_words))
    assert det.onsets["semantic_collapse"] is None
    assert det.traces["semantic_collapse"][1] == pytest.approx(det.traces["semantic_collapse"][0])


def test_onset_is_the_first_firing_step_and_sits_beside_the_gold_peak(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "run.json").write_text(json.dumps({"optimised": "proxy", "gold": ["gold"]}))
    rows = []
    for step, spam in [(0, 0), (10, 0), (20, 2), (30, 12), (40, 20)]:
        for r in rows_for(step, [t + " yes" * spam for t in NORMAL]):
            r["rewards"] = {"proxy": float(spam), "gold": float({0: 0, 10: 1, 20: 2, 30: 1, 40: 0}[step])}
            rows.append(r)
    (run / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    det = detect(run, named_tokens=["yes"], embed=bag_of_words)
    assert det.steps == [0, 10, 20, 30, 40]
    assert det.onsets["named_token_share"] == 20  # 2 of ~15 tokens: share ~0.12 > 0.1
    assert det.onsets["top_token_share"] == 30
    assert det.gold_peak_step == {"gold": 20}  # gold only: the proxy's peak is not reported
    assert det.onsets["semantic_collapse"] == 30  # a dozen shared "yes" make every text alike
    assert det.onsets["repeated_3"] == 30 and det.onsets["length_drift"] == 40
    assert json.loads(json.dumps(det.to_dict()))["onsets"]["top_token_share"] == 30
    strict = detect(run, named_tokens=["yes"], thresholds={"named_token_share": 0.01})
    assert strict.onsets["named_token_share"] == 20 and "semantic_collapse" not in strict.onsets
    with pytest.raises(Exception, match="no detector"):
        detect(run, thresholds={"spam": 0.1})


@pytest.mark.slow
def test_silent_on_the_bundled_base_model():
    """Two draws of 16 completions of the real base model on the held-out story prompts: nothing fires."""
    import torch

    from rewardlab.config import DataConfig, SamplingConfig
    from rewardlab.data import load_prompts
    from rewardlab.errors import ModelNotFound
    from rewardlab.models import load_causal_lm
    from rewardlab.sampling import sample

    try:
        model, tok = load_causal_lm("smollm2-135m-instruct")
    except ModelNotFound as e:
        pytest.skip(f"bundled model not installed: {e}")
    try:
        from rewardlab.embed import embed

        embed(["probe"])
    except Exception as e:  # noqa: BLE001 - fall back to the stand-in embedder, and say so
        print(f"embedding model unavailable ({e}); using the bag-of-words stand-in")
        embed = bag_of_words
    _, prompts = load_prompts(DataConfig())
    torch.manual_seed(0)
    completions = sample(model, tok, prompts * 2, SamplingConfig()).completions  # one batch: two "steps"
    rows = rows_for(0, completions[: len(prompts)]) + rows_for(1, completions[len(prompts) :])
    det = run_detectors(rows, default_detectors(["yes", "no"], embed))
    assert all(onset is None for onset in det.onsets.values()), det.traces
