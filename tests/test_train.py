"""End to end: the CLI trains a tiny model, writes a self-describing run, is deterministic, resumes exactly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from safetensors.torch import load_file

from rewardlab.cli import main
from rewardlab.runs import RunDir

TESTS = Path(__file__).parent


def write_config(path: Path, model_dir: Path, **sections) -> Path:
    import yaml

    cfg = {
        "model": {"name": str(model_dir), "lora": {"r": 4}},
        "sampling": {"max_new_tokens": 8},
        "algo": {"name": "rloo", "prompts_per_step": 2, "samples_per_prompt": 3, "micro_batch_size": 4, "lr": 0.01},
        "train": {"steps": 6, "eval_every": 2, "checkpoint_every": 2, "num_threads": 1},
        "data": {"num_eval_prompts": 4},
        "rewards": {
            "proxy": {"name": "length", "path": "rewardlab.rewards.builtin:length_reward"},
            "gold": [{"name": "the_count", "path": "rewardlab.rewards.builtin:word_count", "args": {"word": "the"}}],
        },
    }
    for section, values in sections.items():
        cfg[section].update(values)
    path.write_text(yaml.safe_dump(cfg))
    return path


def comparable(metrics: list[dict]) -> list[dict]:
    return [{k: v for k, v in m.items() if not k.startswith("timing/")} for m in metrics]


def test_train_writes_a_complete_run_and_changes_parameters(tmp_path, tiny_model):
    cfg = write_config(tmp_path / "c.yaml", tiny_model)
    assert main(["train", str(cfg), "--out", str(tmp_path / "run"), "--no-progress"]) == 0
    run = RunDir(tmp_path / "run")
    for name in ["config.yaml", "run.json", "metrics.jsonl", "samples.jsonl", "adapter/adapter_model.safetensors"]:
        assert (run.path / name).is_file(), name
    metrics = run.metrics()
    assert [m["step"] for m in metrics] == [0, 1, 2, 3, 4, 5, 6]
    for m in metrics[:-1]:
        assert {"reward/length", "kl/seq_k1", "kl/seq_k3", "loss/policy", "timing/sample_s"} <= m.keys()
    for m in (metrics[0], metrics[2], metrics[4], metrics[6]):
        assert {"eval/reward/length", "eval/reward/the_count", "eval/kl/seq_k1"} <= m.keys()
    assert abs(metrics[0]["eval/kl/seq_k1"]) < 1e-4  # step 0 is the reference policy itself
    assert metrics[-1]["eval/kl/seq_k3"] > 1e-3  # k3 >= 0 always; k1 is noisy at 4 samples
    samples = run.samples()
    assert {s["step"] for s in samples} == {0, 2, 4, 6} and len(samples) == 16
    assert set(samples[0]["rewards"]) == {"length", "the_count"}
    assert json.loads((run.path / "run.json").read_text())["optimised"] == "length"
    lora_b = {k: v for k, v in load_file(run.checkpoints()[-1] / "weights.safetensors").items() if "lora_B" in k}
    assert lora_b and any(v.abs().sum() > 0 for v in lora_b.values())  # LoRA B starts at zero


def test_same_seed_same_metrics_other_seed_differs(tmp_path, tiny_model):
    runs = []
    for name, seed in [("a", 3), ("b", 3), ("c", 4)]:
        cfg = write_config(tmp_path / f"{name}.yaml", tiny_model, train={"seed": seed, "steps": 3})
        assert main(["train", str(cfg), "--out", str(tmp_path / name), "--no-progress"]) == 0
        runs.append(comparable(RunDir(tmp_path / name).metrics()))
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_full_finetuning_and_grpo_multi_update(tmp_path, tiny_model):
    cfg = write_config(
        tmp_path / "c.yaml", tiny_model,
        model={"lora": {"enabled": False}},
        algo={"name": "grpo", "updates_per_batch": 2, "kl_mode": "loss", "lr": 0.003},
        train={"steps": 2},
    )
    assert main(["train", str(cfg), "--out", str(tmp_path / "run"), "--no-progress"]) == 0
    run = RunDir(tmp_path / "run")
    assert (run.path / "model" / "model.safetensors").is_file()
    assert run.metrics()[1]["loss/kl"] > 0


def test_nonfinite_reward_errors_or_drops(tmp_path, tiny_model, capsys):
    nan_reward = {"name": "nan", "path": "math:nan"}  # not callable → config error, checked first
    cfg = write_config(tmp_path / "c.yaml", tiny_model, rewards={"proxy": nan_reward, "gold": []})
    assert main(["train", str(cfg), "--out", str(tmp_path / "r0"), "--no-progress"]) == 2
    assert "is not callable" in capsys.readouterr().err

    proxy = {"name": "halfnan", "path": "slow_reward:half_nan"}
    cfg = write_config(tmp_path / "c.yaml", tiny_model, rewards={"proxy": proxy, "gold": []}, train={"steps": 1})
    assert main(["train", str(cfg), "--out", str(tmp_path / "r1"), "--no-progress"]) == 2
    assert "reward 'halfnan' returned nan for sample 1" in capsys.readouterr().err

    cfg = write_config(tmp_path / "c.yaml", tiny_model, rewards={"proxy": proxy, "gold": [], "nonfinite": "drop"}, train={"steps": 1})
    assert main(["train", str(cfg), "--out", str(tmp_path / "r2"), "--no-progress"]) == 0
    assert RunDir(tmp_path / "r2").metrics()[0]["reward/nonfinite_dropped"] == 3


def _metrics_steps(path: Path) -> set[int]:
    return {m["step"] for m in RunDir(path).metrics()}


def test_resume_after_kill_9_reproduces_the_uninterrupted_run(tmp_path, tiny_model):
    proxy = {"name": "length", "path": "slow_reward:slow_length"}
    cfg = write_config(tmp_path / "c.yaml", tiny_model, rewards={"proxy": proxy, "gold": []})
    env = {**os.environ, "PYTHONPATH": str(TESTS)}
    cli = [sys.executable, "-m", "rewardlab.cli", "train", "--no-progress"]

    subprocess.run([*cli, str(cfg), "--out", str(tmp_path / "full")], env=env, check=True, capture_output=True)

    proc = subprocess.Popen([*cli, str(cfg), "--out", str(tmp_path / "killed")], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and not {2, 3} <= _metrics_steps(tmp_path / "killed"):
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed = RunDir(tmp_path / "killed")
    assert killed.checkpoints() and 6 not in _metrics_steps(killed.path)

    subprocess.run([*cli, "--resume", str(killed.path)], env=env, check=True, capture_output=True)
    assert comparable(killed.metrics()) == comparable(RunDir(tmp_path / "full").metrics())
    assert killed.samples() == RunDir(tmp_path / "full").samples()


def test_step0_kl_is_exactly_zero_in_bf16_and_the_sampler_gap_is_logged(tmp_path, tiny_model):
    """bf16 autocast + a bf16 sampler: the logged KL (teacher-forced, policy vs reference by the same code
    in the same precision) is exactly 0 at step 0; the sampler's own numerics show up as the gap instead."""
    cfg = write_config(tmp_path / "c.yaml", tiny_model, model={"name": str(tiny_model), "lora": {"r": 4}, "bf16_autocast": True},
                       sampling={"max_new_tokens": 8, "dtype": "bfloat16"}, train={"steps": 1, "eval_every": 1, "num_threads": 1})
    assert main(["train", str(cfg), "--out", str(tmp_path / "run"), "--no-progress"]) == 0
    first = RunDir(tmp_path / "run").metrics()[0]
    assert first["eval/kl/seq_k1"] == 0.0 and first["eval/kl/seq_k3"] == 0.0
    assert first["kl/seq_k1"] == 0.0 and first["kl/seq_k3"] == 0.0
    assert first["eval/kl/sampler_gap"] != 0.0  # the bf16 sampler does differ: the gap is real and logged
    assert {"kl/sampler_gap", "kl/penalty_k1"} <= first.keys()
    assert all(s["kl_k1"] == 0.0 for s in RunDir(tmp_path / "run").samples() if s["step"] == 0)


def test_expensive_watched_reward_scores_a_documented_subset(tmp_path, tiny_model):
    """`eval_subset_per_prompt: 1` with 3 evaluation samples per prompt: the watched reward sees the first
    sample of each prompt only, says so in `eval/n/<name>`, and leaves the other samples' value null."""
    gold = {"name": "the_count", "path": "rewardlab.rewards.builtin:word_count", "args": {"word": "the"},
            "eval_subset_per_prompt": 1}
    cfg = write_config(tmp_path / "c.yaml", tiny_model, train={"steps": 1, "eval_every": 1, "num_threads": 1, "eval_samples_per_prompt": 3},
                       rewards={"gold": [gold]})
    assert main(["train", str(cfg), "--out", str(tmp_path / "run"), "--no-progress"]) == 0
    run = RunDir(tmp_path / "run")
    first = run.metrics()[0]
    assert first["eval/n/the_count"] == 4 and first["eval/n/length"] == 12  # 4 eval prompts x 1 and x 3
    rows = [r for r in run.samples() if r["step"] == 0]
    scored = [r["rewards"]["the_count"] is not None for r in rows]
    assert scored == [i % 3 == 0 for i in range(12)]
    assert first["eval/reward/the_count"] == sum(r["rewards"]["the_count"] for r in rows if r["rewards"]["the_count"] is not None) / 4
