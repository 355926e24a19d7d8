"""tracker.gate on synthetic histories: what each rule measures, and its verdict."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

import numpy as np
import pytest

import mlineage as ml
from tests.gate.story import HISTORY, ISSUE_POLICY, RARE, WRONG, Story, noise


@pytest.fixture
def story() -> Story:
    story = Story(f"memory://gate-{uuid.uuid4().hex}")
    story.history()
    return story


def policy(data: dict[str, Any]) -> ml.GatePolicy:
    return ml.GatePolicy.from_dict(data)


ACCURACY = {"accuracy": {"direction": "increase", "max_drop": 0.01}}


def test_a_candidate_that_breaks_a_rare_slice_is_refused_though_accuracy_rises(
    story: Story,
) -> None:
    # The update fixes 60 of the 100 common-region mistakes, and breaks the rare region.
    predictions = story.baseline()
    predictions[-60:] = story.y[-60:]
    predictions[:RARE] = 1 - story.y[:RARE]
    candidate = story.log(0.915, predictions)
    gate = story.tracker.gate(
        candidate,
        policy=policy({"metrics": ACCURACY, "slices": {"by": "region", "max_drop": 0.02}}),
    )
    assert not gate.passed
    assert [r.rule for r in gate.failed] == ["slices.max_drop"]
    assert gate["metrics.accuracy.max_drop"].value == pytest.approx(-0.014)
    sliced = gate["slices.max_drop"]
    assert sliced.evidence["worst"] == "rare" and sliced.value == 1.0
    assert sliced.evidence["groups"]["common"]["drop"] < 0  # the majority got better
    # The issue's policy refuses it too (the flip rate and the slice).
    full = story.tracker.gate(candidate, policy=ml.GatePolicy.loads(ISSUE_POLICY))
    assert {"slices.max_drop", "behaviour.max_negative_flip_rate"} <= {r.rule for r in full.failed}


def test_a_candidate_within_the_noise_passes(story: Story) -> None:
    step = noise(story)
    candidate = story.log(HISTORY[-1] - step)  # one noise unit worse, same behaviour
    gate = story.tracker.gate(candidate, policy=ml.GatePolicy.loads(ISSUE_POLICY))
    assert gate.passed, str(gate)
    rule = gate["metrics.loss.max_drop_noise"]
    assert rule.evidence["noise"] == pytest.approx(noise(story))
    assert rule.value == pytest.approx(1.0)
    worse = story.log(HISTORY[-1] - 4 * step, name="worse")
    refused = story.tracker.gate(worse, policy=ml.GatePolicy.loads(ISSUE_POLICY))
    assert [r.rule for r in refused.failed] == [
        "metrics.accuracy.max_drop",  # 4 noise units are 0.015 here
        "metrics.loss.max_drop_noise",
    ]
    assert refused["metrics.loss.max_drop_noise"].value == pytest.approx(4.0)


def test_a_silent_behaviour_shift_with_flat_metrics_is_refused_by_the_flip_rate(
    story: Story,
) -> None:
    # 30 right answers become wrong and 30 wrong ones right: accuracy does not move.
    predictions = story.baseline()
    predictions[RARE : RARE + 30] = 1 - story.y[RARE : RARE + 30]
    predictions[-30:] = story.y[-30:]
    candidate = story.log(HISTORY[-1], predictions)
    gate = story.tracker.gate(candidate, policy=ml.GatePolicy.loads(ISSUE_POLICY))
    assert [r.rule for r in gate.failed] == [
        "behaviour.max_negative_flip_rate",
        "behaviour.min_backward_trust_compatibility",  # 870 of 900 right answers kept
    ]
    assert gate["behaviour.max_negative_flip_rate"].value == pytest.approx(0.03)
    assert gate["behaviour.min_backward_trust_compatibility"].value == pytest.approx(870 / 900)
    assert gate["metrics.accuracy.max_drop"].value == 0.0
    assert gate["behaviour.max_negative_flip_rate"].evidence["churn"] == pytest.approx(0.06)
    # the analysis that finds silent shifts agrees that this one is one
    assert candidate in story.tracker.analysis.silent_shifts().versions


# -- every rule at its boundary --------------------------------------------------------------

BOUNDARY_POLICY: dict[str, Any] = {
    "metrics": {
        "accuracy": {
            "direction": "increase",
            "max_drop": 1.0,
            "max_drop_relative": 1.0,
            "max_drop_noise": 100.0,
        },
        "loss": {"direction": "decrease", "max_drop": 1.0},
    },
    "behaviour": {"max_negative_flip_rate": 1.0, "min_backward_trust_compatibility": 0.0},
    "slices": {"by": "region", "max_drop": 1.0},
    "drift": {"max_share": 1.0},
    "evidence": {"attached": {"evidently": {"max": {"drift_share": 1.0}, "min": {"rows": 0.0}}}},
}
RULES = [
    ("metrics.accuracy.max_drop", "<="),
    ("metrics.accuracy.max_drop_relative", "<="),
    ("metrics.accuracy.max_drop_noise", "<="),
    ("metrics.loss.max_drop", "<="),
    ("behaviour.max_negative_flip_rate", "<="),
    ("behaviour.min_backward_trust_compatibility", ">="),
    ("slices.max_drop", "<="),
    ("drift.max_share", "<="),
    ("evidence.attached.evidently.max.drift_share", "<="),
    ("evidence.attached.evidently.min.rows", ">="),
]


@pytest.fixture
def measured(story: Story) -> tuple[Story, ml.ModelVersion, dict[str, float]]:
    """A candidate that is somewhat worse by every measure, and each rule's value."""
    predictions = story.baseline()
    predictions[: RARE // 5] = 1 - story.y[: RARE // 5]  # 10 rare rows break
    predictions[RARE : RARE + 20] = 1 - story.y[RARE : RARE + 20]
    candidate = story.log(HISTORY[-1] - 0.007, predictions, loss=0.13, shift=1.5)
    story.tracker.attach_evidence(
        candidate, "evidently", summary={"drift_share": 0.25, "rows": 400}
    )
    gate = story.tracker.gate(candidate, policy=policy(BOUNDARY_POLICY))
    assert gate.passed, str(gate)
    values = {r.rule: r.value for r in gate.rules}
    assert all(v is not None and v > 0 for v in values.values()), values
    return story, candidate, values  # type: ignore[return-value]


def _with_limit(rule: str, limit: float) -> ml.GatePolicy:
    data = copy.deepcopy(BOUNDARY_POLICY)
    *path, key = rule.split(".")
    table = data
    for part in path:
        table = table[part]
    table[key] = limit
    return policy(data)


@pytest.mark.parametrize(("rule", "comparison"), RULES)
def test_every_rule_at_its_boundary_passes_and_fails_just_beyond(
    measured: tuple[Story, ml.ModelVersion, dict[str, float]], rule: str, comparison: str
) -> None:
    # "At" the threshold passes: a maximum is inclusive, and so is a minimum.
    story, candidate, values = measured
    value = values[rule]
    step = 1e-6 if comparison == "<=" else -1e-6
    for limit, passes in ((value + step, True), (value, True), (value - step, False)):
        gate = story.tracker.gate(candidate, policy=_with_limit(rule, limit))
        result = gate[rule]
        assert result.threshold == limit
        assert (result.status == "pass") is passes, (rule, limit, str(gate))
        assert gate.passed is passes


def test_the_threshold_is_met_despite_float_rounding(story: Story) -> None:
    candidate = story.log(HISTORY[-1] - 0.01)  # 0.901 - 0.891 is 0.010000000000000009
    gate = story.tracker.gate(candidate, policy=policy({"metrics": ACCURACY}))
    assert gate["metrics.accuracy.max_drop"].value > 0.01
    assert gate.passed


def test_must_not_drift_and_the_fingerprint_requirement(story: Story) -> None:
    candidate = story.log(HISTORY[-1], shift=1.5)  # "amount" drifts, "hour" does not
    rules = {"drift": {"must_not_drift": ["hour"]}, "evidence": {"fingerprint": True}}
    assert story.tracker.gate(candidate, policy=policy(rules)).passed
    rules["drift"]["must_not_drift"] = ["hour", "amount"]
    gate = story.tracker.gate(candidate, policy=policy(rules))
    assert [r.rule for r in gate.failed] == ["drift.must_not_drift"]
    assert gate["drift.must_not_drift"].evidence["hit"] == ["amount"]
    rules["drift"]["must_not_drift"] = ["amonut"]
    typo = story.tracker.gate(candidate, policy=policy(rules))["drift.must_not_drift"]
    assert typo.status == "fail" and "'amonut' are not in the data profiles" in typo.message
    bare = story.log(HISTORY[-1], fingerprint=False)
    rule = story.tracker.gate(bare, policy=policy(rules))["evidence.fingerprint"]
    assert rule.status == "fail" and "v.fingerprint = probe.evaluate" in rule.message


# -- missing evidence ---------------------------------------------------------------------------


def test_missing_evidence_fails_saying_what_to_log_unless_optional(story: Story) -> None:
    bare = story.log(HISTORY[-1], fingerprint=False, profile=False)
    rules = ml.GatePolicy.loads(ISSUE_POLICY).to_dict()
    rules["evidence"] = {"attached": {"evidently": {"max": {"drift_share": 0.3}}}}
    gate = story.tracker.gate(bare, policy=policy(rules))
    messages = {r.rule: r.message for r in gate.failed}
    assert "probe.evaluate" in messages["behaviour.max_negative_flip_rate"]
    assert "group_by='region'" in messages["slices.max_drop"]
    assert "profile" in messages["drift.max_share"]
    assert "tracker.attach_evidence" in messages["evidence.attached.evidently.max.drift_share"]
    for section in ("behaviour", "slices", "drift"):
        rules[section]["optional"] = True
    rules["evidence"]["attached"]["evidently"]["optional"] = True
    lenient = story.tracker.gate(bare, policy=policy(rules))
    assert lenient.passed
    assert {r.rule for r in lenient.rules if r.status == "skip"} == set(messages)


def test_a_missing_metric_and_a_history_too_short_for_noise(tmp_path: Any) -> None:
    story = Story(f"memory://gate-{uuid.uuid4().hex}")
    first = story.log(0.9)
    story.tracker.set_alias("production", first)
    candidate = story.log(0.9)
    rules = {"metrics": {"f1": {"direction": "increase", "max_drop": 0.01}}}
    gate = story.tracker.gate(candidate, policy=policy(rules))
    assert "has no metric 'f1': log it" in gate.failed[0].message
    rules = {"metrics": {"accuracy": {"direction": "increase", "max_drop_noise": 3}}}
    gate = story.tracker.gate(candidate, policy=policy(rules))
    assert "no step noise for 'accuracy'" in gate.failed[0].message
    rules["metrics"]["accuracy"]["optional"] = True
    assert story.tracker.gate(candidate, policy=policy(rules)).rules[0].status == "skip"


def test_against_a_version_an_unset_alias_and_a_typo() -> None:
    story = Story(f"memory://gate-{uuid.uuid4().hex}")
    first = story.log(0.95)
    candidate = story.log(0.90)
    rules = policy({"metrics": ACCURACY, "evidence": {"fingerprint": True}})
    against_first = story.tracker.gate(candidate, against=first.name, policy=rules)
    assert not against_first.passed and against_first.against_version == first.id
    with pytest.raises(ml.VersionNotFound, match="no alias of that name was ever set"):
        story.tracker.gate(candidate, policy=rules)  # production was never set
    story.tracker.set_alias("production", first)
    story.tracker.set_alias("production", None)  # removed: nothing to compare with
    gate = story.tracker.gate(candidate, policy=rules)
    assert gate.passed and gate.against_version is None
    assert gate["metrics.accuracy.max_drop"].status == "skip"
    assert gate["evidence.fingerprint"].status == "pass"  # evidence rules still apply


def test_the_result_reads_well_and_serialises(story: Story) -> None:
    predictions = story.baseline()
    predictions[:RARE] = 1 - story.y[:RARE]
    candidate = story.log(0.8, predictions, name="bad")
    rules = ISSUE_POLICY.replace('["amount"]', '["amount", "<b>x</b>"]')
    gate = story.tracker.gate(candidate, policy=ml.GatePolicy.loads(rules))
    text = str(gate)
    assert text.startswith("gate REFUSED: gated") and "(bad) against production" in text
    assert "FAIL  metrics.accuracy.max_drop" in text and "0.101 > 0.01" in text
    assert text.splitlines()[-1] == f"{len(gate.failed)} of {len(gate.rules)} rules failed"
    data = json.loads(json.dumps(gate.to_dict(), allow_nan=False))
    assert data["policy"]["text"] == rules and data["policy"]["hash"] == gate.policy.hash
    assert data["failed"] == [r.rule for r in gate.failed] and data["passed"] is False
    html = gate._repr_html_()
    assert "&lt;b&gt;x" in html and "<b>x" not in html
    # one line, not the policy's text and every rule's evidence
    assert repr(gate).startswith("<GateResult refused: gated") and len(repr(gate)) < 2_000
    assert f"{len(gate.failed)} of {len(gate.rules)} rules failed" in repr(gate)
    with pytest.raises(KeyError, match=r"no rule 'drift\.nope'"):
        gate["drift.nope"]


def test_gate_writes_nothing_and_works_read_only(story: Story) -> None:
    candidate = story.log(HISTORY[-1])
    before = set(story.tracker.store.list())
    reader = ml.Tracker.load("gated", storage=story.tracker.store, read_only=True)
    assert reader.gate(candidate, policy=ml.GatePolicy.loads(ISSUE_POLICY)).passed
    assert set(story.tracker.store.list()) == before
    with pytest.raises(ml.InvalidInput, match="GatePolicy or the path"):
        reader.gate(candidate, policy=42)  # type: ignore[arg-type]
    assert np.array_equal(story.baseline()[-WRONG:], 1 - story.y[-WRONG:])
