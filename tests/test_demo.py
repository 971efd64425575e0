"""`rewardlab demo --quick` runs every phase end to end on the bundled model (trains the default gold once
into the cache on a fresh machine, a few minutes)."""

from __future__ import annotations

import pytest

from rewardlab.cli import main
from rewardlab.runs import RunDir

pytestmark = pytest.mark.slow


def test_quick_demo_runs_every_phase(tmp_path, capsys):
    assert main(["demo", "--quick", "--out", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    for phase in ("1/4", "2/4", "3/4", "4/4", "summary", "proxy judge_same:", "gold gold:", "detector onsets"):
        assert phase in err
    run = RunDir(tmp_path / "rl-s0")
    assert {"eval/reward/gold", "eval/reward/judge_isolated", "eval/kl/seq_k1"} <= run.metrics()[0].keys()
    assert (tmp_path / "report" / "report.html").is_file()
    assert (tmp_path / "report" / "goodhart.png").is_file()
