"""The yes-spammer's stage shares, computed by hand on a tiny progression."""

import pytest

from rewardlab.measure.answer_words import word_stages
from rewardlab.measure.detectors import tokens


def test_tokens_split_camel_case_answer_spam():
    assert tokens("YesYesYes! NoNoNo, USA know yesterday") == ["yes", "yes", "yes", "!", "no", "no", "no", ",", "usa", "know", "yesterday"]


def test_word_stages_follow_the_seed_progression():
    rows = [
        {"step": 0, "completion": "No, I do not."}, {"step": 0, "completion": "Maybe, yes."},
        {"step": 5, "completion": "Yes."}, {"step": 5, "completion": "Yes! Yes, I do."},
        {"step": 9, "completion": "YesYesYes"}, {"step": 9, "completion": "yes yes yes no"},
    ]
    no, yes = word_stages(rows, "No"), word_stages(rows, " yes")
    assert yes.steps == [0, 5, 9]
    assert yes.starts == [0.0, 1.0, 1.0] and no.starts == [0.5, 0.0, 0.0]
    assert yes.per_completion == pytest.approx([0.5, 1.5, 3.0])  # "Yes." is one, and all of its words
    assert yes.repeated == [0.0, 0.5, 1.0]
    assert yes.spam == [0.0, 0.0, 1.0]  # neither a bare "Yes." nor the half-yes "Yes! Yes, I do." is spam
