"""One verdict vocabulary (docs/analysis.md, "Verdicts"): every rule shown with its verdict."""

from __future__ import annotations

import numpy as np

from mlineage.stats._present import step_words
from mlineage.stats.profile import DataProfile, DriftReport, drift_between


def _report(shift_amount: float = 3.0, label_p: tuple[float, float] = (0.5, 0.5)) -> DriftReport:
    rng = np.random.default_rng(3)
    names = ["amount", "velocity", "age", "hour", "country_risk", "device", "merchant"]
    ref = rng.normal(size=(4000, 7))
    cur = rng.normal(size=(4000, 7))
    cur[:, 0] += shift_amount
    y_ref = rng.integers(0, 2, 4000)
    y_cur = rng.choice([0, 1], 4000, p=list(label_p))
    return drift_between(
        DataProfile.from_array(ref, y_ref, columns=names),
        DataProfile.from_array(cur, y_cur, columns=names),
    )


def test_a_huge_move_below_the_share_rule_reads_as_drift_with_both_rules() -> None:
    report = _report(label_p=(0.1, 0.9))
    assert not report.dataset_drift  # 1 of 7 < 50 %
    text = report.summary()
    assert text.startswith(
        "1 of 7 features drifted (Bonferroni p < 0.05; dataset drift needs ≥ 50 %): amount KS "
    )
    assert "p<1e-10 PSI" in text and "no drift" not in text and "no dataset drift" not in text
    assert text.endswith("labels shifted (χ² p<1e-10 < 0.05)")
    assert str(report).startswith(text)


def test_dataset_drift_and_quiet_steps_name_their_rule() -> None:
    rng = np.random.default_rng(4)
    ref, cur = rng.normal(size=(3000, 2)), rng.normal(size=(3000, 2)) + 1.0
    moved = drift_between(DataProfile.from_array(ref), DataProfile.from_array(cur))
    assert moved.summary().startswith("dataset drift: 2 of 2 features drifted (Bonferroni p")
    quiet = drift_between(
        DataProfile.from_array(ref), DataProfile.from_array(rng.normal(size=(3000, 2)))
    )
    text = quiet.summary()
    assert text.startswith("0 of 2 features drifted (Bonferroni p < 0.05; dataset drift needs")
    assert "; largest move: " in text  # what moved most, even below the test's threshold
    bh = drift_between(DataProfile.from_array(ref), DataProfile.from_array(cur), correction="bh")
    assert "(BH p < 0.05;" in bh.summary()


def test_label_without_shift_states_its_threshold() -> None:
    assert "labels: no shift (χ² p=" in _report().summary()
    assert "≥ 0.05)" in _report().summary()


def test_anomalous_step_words() -> None:
    assert step_words(6.24, 3.5) == "anomalous step (drift score z +6.2 > 3.5)"
    assert step_words(-1.0, 3.5, "churn") == "ordinary step (churn z -1.0 ≤ 3.5)"
    assert step_words(None, 3.5).startswith("not judged")
    assert step_words(3.54, 3.5) == "anomalous step (drift score z +3.54 > 3.5)"
    assert step_words(3.46, 3.5) == "ordinary step (drift score z +3.46 ≤ 3.5)"
    assert step_words(-0.04, 3.5) == "ordinary step (drift score z +0.0 ≤ 3.5)"
