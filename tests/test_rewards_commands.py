"""CLI: label, rm train, score; and the example config that optimises one judge while watching three."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from rewardlab.cli import main
from rewardlab.config import load_config

LENGTH = {"name": "length", "kind": "python", "path": "rewardlab.rewards.builtin:length_reward"}


def write_yaml(path: Path, tree: dict) -> Path:
    path.write_text(yaml.safe_dump(tree))
    return path


def test_label_writes_dataset_with_settings(tiny_model, tmp_path):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("the cat sat\nonce upon a time\na quiet morning\n")
    out = tmp_path / "labels.jsonl"
    gold = write_yaml(tmp_path / "gold.yaml", LENGTH)
    rc = main(["label", "--out", str(out), "--model", str(tiny_model), "--prompts", str(prompts), "--n-prompts", "2",
               "--samples-per-prompt", "3", "--max-new-tokens", "5", "--temperature", "0.7", "--gold", str(gold), "--parquet"])
    assert rc == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 6 and [r["prompt_id"] for r in rows] == [0, 0, 0, 1, 1, 1]
    assert all(r["gold"] == len(r["completion"].split()) / 10 for r in rows)
    meta = json.loads(out.with_suffix(".meta.json").read_text())
    assert meta["sampling"]["max_new_tokens"] == 5 and meta["sampling"]["temperature"] == 0.7 and meta["gold"]["name"] == "length"
    import pyarrow.parquet as pq

    table = pq.read_table(out.with_suffix(".parquet"))
    assert table.to_pylist() == rows and json.loads(table.schema.metadata[b"rewardlab"]) == meta


def test_rm_train_cli_trains_disjoint_splits(tmp_path, capsys):
    data = tmp_path / "labels.jsonl"
    words = ["good", "bad", "fine", "great", "poor"]
    data.write_text("".join(json.dumps({"prompt": "", "completion": f"{words[i % 5]} {i}", "gold": float(i % 5)}) + "\n" for i in range(40)))
    assert main(["rm", "train", str(data), "--out", str(tmp_path / "rm"), "--set", "splits=2", "epochs=2", "hidden=8"]) == 0
    metas = [json.loads((tmp_path / "rm" / f"split{k}" / "meta.json").read_text()) for k in range(2)]
    assert not set(metas[0]["train_ids"]) & set(metas[1]["train_ids"])
    assert "heldout_pearson" in capsys.readouterr().out
    assert main(["rm", "train", str(data), "--out", str(tmp_path / "x"), "--set", "objectiv=pairwise"]) == 2


def test_score_adds_a_reward_to_saved_samples(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    rows = [{"step": s, "prompt_id": i, "prompt": "p", "completion": "a b " * (s + i), "rewards": {"proxy": 1.0},
             "kl_k1": 0.0, "kl_k3": 0.0, "tokens": 3} for s in (0, 10) for i in range(2)]
    (run / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    reward = write_yaml(tmp_path / "r.yaml", LENGTH)
    assert main(["score", str(run), "--reward", str(reward)]) == 0
    got = [json.loads(line) for line in (run / "samples.jsonl").read_text().splitlines()]
    assert [r["rewards"] for r in got] == [{"proxy": 1.0, "length": len(r["completion"].split()) / 10} for r in rows]
    out = capsys.readouterr().out
    assert "mean length" in out and "0.1" in out and "2.1" in out  # per-step means: step 0 (0 and 2 words), step 10
    assert main(["score", str(run), "--reward", str(reward)]) == 2  # the name exists: refuse
    assert "--force" in capsys.readouterr().err
    assert main(["score", str(run), "--reward", str(reward), "--force"]) == 0


def test_example_config_optimises_one_judge_and_watches_three():
    cfg = load_config(Path(__file__).parent.parent / "configs" / "judge_vs_gold.yaml")
    assert cfg.rewards.proxy.kind == "judge" and cfg.rewards.proxy.args.get("placement", "same_context") == "same_context"
    kinds = {g.kind: g for g in cfg.rewards.gold}
    assert set(kinds) == {"judge", "learned", "gold"} and kinds["judge"].args["placement"] == "isolated"
    from rewardlab.rewards import KINDS, _load_kinds
    from rewardlab.rewards.gold import GoldArgs
    from rewardlab.rewards.judge import JudgeArgs
    from rewardlab.rewards.learned import LearnedArgs
    from rewardlab.rewards.spec import parse_args

    _load_kinds()
    for spec, cls in [(cfg.rewards.proxy, JudgeArgs), (kinds["judge"], JudgeArgs), (kinds["learned"], LearnedArgs), (kinds["gold"], GoldArgs)]:
        assert spec.kind in KINDS
        parse_args(spec, cls)
