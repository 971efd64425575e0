"""The default gold's report card, recomputed from scratch and held to the one in docs/gold-report-card.json
(which docs/rewards.md quotes): builds the gold (Gemma-3-270M features, a few minutes once, then cached),
samples the reference policy, generates the hack zoo."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rewardlab.config import RewardSpec
from rewardlab.rewards import build_reward
from rewardlab.rewards.gold import reference_samples, report_card
from rewardlab.rewards.zoo import hack_zoo

pytestmark = pytest.mark.slow
CARD = Path(__file__).parent.parent / "docs" / "gold-report-card.json"


def test_gold_report_card_holds():
    committed = next(c for c in json.loads(CARD.read_text()) if c["reward"] == "gold")
    reference = reference_samples()
    card = report_card(build_reward(RewardSpec(name="gold", kind="gold")), reference,
                       hack_zoo(sorted({r["prompt"] for r in reference})))
    assert card["auc_pos_neg"] >= 0.88  # the target, met
    assert card["auc_pos_neg"] == pytest.approx(committed["auc_pos_neg"], abs=0.01)
    for fam, row in card["families"].items():
        documented = committed["families"][fam]["below_ref_median"]
        assert row["below_ref_median"] == pytest.approx(documented, abs=0.08), fam
        if documented >= 0.95:  # the families that meet the target keep meeting it
            assert row["below_ref_median"] >= 0.95, fam
