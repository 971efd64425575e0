"""`rewardlab demo --quick` runs every phase end to end on the bundled model (trains the default gold once
into the cache on a fresh machine, a few minutes)."""

from __future__ import annotations

import pytest

from rewardlab.cli import main
from rewardlab.measure.bon import BonDir
from rewardlab.runs import RunDir

pytestmark = pytest.mark.slow


def test_quick_demo_runs_every_phase(tmp_path, capsys):
    assert main(["demo", "--quick", "--out", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    for phase in ("1/5", "2/5", "3/5", "4/5", "5/5", "summary", "best-of-n by judge_same", "best-of-n by learned",
                  "RL proxy judge_same:", "RL gold gold:", "detector onsets", "most frequent words at step 4",
                  "'yes' by step (rl-s0; starts / twice+ / mostly 'yes'): 0: "):
        assert phase in err
    run = RunDir(tmp_path / "rl-s0")
    assert {"eval/reward/gold", "eval/reward/judge_isolated", "eval/kl/seq_k1"} <= run.metrics()[0].keys()
    assert (tmp_path / "report" / "report.html").is_file()
    assert (tmp_path / "report" / "goodhart.png").is_file()
    learned = BonDir(tmp_path / "bon-learned-n4-s0")
    judged = BonDir(tmp_path / "bon-judge_same-n4-s0")
    assert learned.meta()["optimised"] == "learned" and learned.meta()["samples_from"] == str(judged.path)
    # the same samples, selected by another proxy; the judge's and gold's scores reused, not recomputed
    assert [r["completion"] for r in learned.rows()] == [r["completion"] for r in judged.rows()]
    assert [r["rewards"]["gold"] for r in learned.rows()] == [r["rewards"]["gold"] for r in judged.rows()]
    # a second run continues where the first stopped: here, everything is done and reused as it is
    metrics = run.metrics()
    assert main(["demo", "--quick", "--out", str(tmp_path)]) == 0
    assert "finished before: reusing it" in capsys.readouterr().err
    assert run.metrics() == metrics


def test_demo_overrides_are_validated_before_any_work(tmp_path, capsys):
    assert main(["demo", "--quick", "--out", str(tmp_path), "train.stepz=80"]) == 2
    assert "did you mean 'steps'" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
