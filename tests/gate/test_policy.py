"""Gate policies: files read and round-tripped, and every malformed one named by key and line."""

from __future__ import annotations

import hashlib
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import mlineage as ml
from mlineage.gate import AttachedRule, BehaviourRule, DriftRule, MetricRule, SliceRule
from tests.gate.story import ISSUE_POLICY

ISSUE_YAML = """\
against: production
metrics:
  accuracy:
    direction: increase
    max_drop: 0.01
  loss:
    direction: decrease
    max_drop_noise: 3
behaviour:
  probe: holdout-probes
  max_negative_flip_rate: 0.01
  min_backward_trust_compatibility: 0.98
slices:
  by: region
  max_drop: 0.02
drift:
  max_share: 0.3
  must_not_drift: [amount]
"""


def test_the_issue_policy_reads_into_its_rules(tmp_path: Path) -> None:
    path = tmp_path / "gate.toml"
    path.write_text(ISSUE_POLICY)
    policy = ml.GatePolicy.load(path)
    assert policy.against == "production"
    assert policy.metrics == (
        MetricRule("accuracy", "increase", max_drop=0.01),
        MetricRule("loss", "decrease", max_drop_noise=3.0),
    )
    assert policy.behaviour == BehaviourRule("holdout-probes", 0.01, 0.98)
    assert policy.slices == SliceRule("region", 0.02)
    assert policy.drift == DriftRule(max_share=0.3, must_not_drift=("amount",))
    assert policy.text == ISSUE_POLICY and policy.source == str(path)
    assert policy.hash == "sha256:" + hashlib.sha256(ISSUE_POLICY.encode()).hexdigest()
    # the same rules in YAML and in JSON are the same policy (with other texts)
    (tmp_path / "gate.yaml").write_text(ISSUE_YAML)
    yaml = ml.GatePolicy.load(tmp_path / "gate.yaml")
    assert yaml == policy and yaml.format == "yaml" and yaml.hash != policy.hash
    as_json = ml.GatePolicy.loads(ml.GatePolicy.from_dict(policy.to_dict()).text, "json")
    assert as_json == policy


def test_a_policy_round_trips_through_its_dict_and_its_text() -> None:
    policy = ml.GatePolicy.loads(ISSUE_POLICY)
    data = policy.to_dict()
    assert data["metrics"]["loss"] == {"direction": "decrease", "max_drop_noise": 3.0}
    again = ml.GatePolicy.from_dict(data)
    assert again == policy and again.to_dict() == data
    assert ml.GatePolicy.loads(again.text, "json") == policy
    # built field by field, it is checked and gets its text as well
    built = ml.GatePolicy(metrics=(MetricRule("accuracy", "increase", max_drop=0.01),))
    assert built.text and ml.GatePolicy.loads(built.text, "json") == built
    with pytest.raises(ml.InvalidPolicy, match=r"metrics\.accuracy: needs max_drop"):
        ml.GatePolicy(metrics=(MetricRule("accuracy", "increase"),))


limits = st.floats(0, 1, allow_nan=False)
names = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
metric_rules = st.builds(
    MetricRule,
    metric=names,
    direction=st.sampled_from(["increase", "decrease"]),
    max_drop=limits,
    max_drop_relative=st.none() | limits,
    max_drop_noise=st.none() | st.floats(0, 10),
    optional=st.booleans(),
)
policies = st.builds(
    ml.GatePolicy,
    against=st.none() | names,
    metrics=st.lists(metric_rules, max_size=3, unique_by=lambda m: m.metric).map(tuple),
    behaviour=st.none()
    | st.builds(BehaviourRule, st.none() | names, limits, st.none() | limits, st.booleans()),
    slices=st.none() | st.builds(SliceRule, names, limits, st.booleans()),
    drift=st.none()
    | st.builds(DriftRule, limits, st.lists(names, max_size=3).map(tuple), limits, st.booleans()),
    evidence=st.none()
    | st.builds(
        ml.gate.EvidenceRule,
        st.booleans(),
        st.lists(
            st.builds(
                AttachedRule,
                names,
                st.lists(
                    st.tuples(names, st.floats(-5, 5)),
                    min_size=1,
                    max_size=2,
                    unique_by=lambda t: t[0],
                ).map(tuple),
                st.just(()),
                st.booleans(),
            ),
            max_size=2,
            unique_by=lambda a: a.kind,
        ).map(tuple),
    ),
)


@given(policies)
def test_any_policy_survives_its_round_trips(policy: ml.GatePolicy) -> None:
    assert ml.GatePolicy.from_dict(policy.to_dict()) == policy
    assert ml.GatePolicy.loads(policy.text, "json") == policy


BAD_TOML = [
    # (text, key, line, words in the message)
    ('against = "production"\nbehavior = 1\n', "behavior", 2, "did you mean 'behaviour'"),
    (
        '[metrics.accuracy]\ndirection = "increase"\nmax_dorp = 0.01\n',
        "metrics.accuracy.max_dorp",
        3,
        "did you mean 'max_drop'",
    ),
    (
        '\n[metrics.accuracy]\ndirection = "increase"\nmax_drop = "a lot"\n',
        "metrics.accuracy.max_drop",
        4,
        "must be a number, got 'a lot' (str)",
    ),
    (
        '[metrics.accuracy]\ndirection = "up"\nmax_drop = 0.01\n',
        "metrics.accuracy.direction",
        2,
        '"increase" (higher is better) or "decrease"',
    ),
    ("[metrics.accuracy]\nmax_drop = 0.01\n", "metrics.accuracy", 1, "needs direction"),
    ('[metrics.loss]\ndirection = "decrease"\n', "metrics.loss", 1, "needs max_drop"),
    (
        '[metrics.accuracy]\ndirection = "increase"\nmax_drop = true\n',
        "metrics.accuracy.max_drop",
        3,
        "must be a number, got True (bool)",
    ),
    (
        '[metrics.accuracy]\ndirection = "increase"\nmax_drop = -0.5\n',
        "metrics.accuracy.max_drop",
        3,
        "must be a finite number >= 0",
    ),
    ("[metrics]\naccuracy = 0.9\n", "metrics.accuracy", 2, "must be a table"),
    (
        "[behaviour]\nmax_negative_flip_rate = 1.5\n",
        "behaviour.max_negative_flip_rate",
        2,
        "between 0 and 1",
    ),
    ('[behaviour]\nprobe = "holdout"\n', "behaviour", 1, "needs max_negative_flip_rate"),
    (
        "[behaviour]\nmax_negative_flip_rate = 0.01\noptional = 1\n",
        "behaviour.optional",
        3,
        "true or false",
    ),
    ("[slices]\nmax_drop = 0.02\n", "slices", 1, "needs by"),
    ('[slices]\nby = ""\nmax_drop = 0.02\n', "slices.by", 2, "non-empty string"),
    ('[drift]\nmust_not_drift = "amount"\n', "drift.must_not_drift", 2, "must be a list"),
    ("[drift]\nmust_not_drift = [1]\n", "drift.must_not_drift", 2, "non-empty string, got 1"),
    ("[drift]\nalpha = 0.1\n", "drift", 1, "needs max_share or must_not_drift"),
    ('[evidence]\nfingerprint = "yes"\n', "evidence.fingerprint", 2, "true or false"),
    (
        "[evidence.attached.evidently]\noptional = true\n",
        "evidence.attached.evidently",
        1,
        "needs max = { key = limit }",
    ),
    (
        '[evidence.attached.evidently]\nmax = { drift_share = "low" }\n',
        "evidence.attached.evidently.max.drift_share",
        2,
        "must be a number",
    ),
    ("against = 3\n", "against", 1, "non-empty string, got 3 (int)"),
]


@pytest.mark.parametrize(("text", "key", "line", "words"), BAD_TOML)
def test_each_malformed_policy_names_its_key_and_line(
    text: str, key: str, line: int, words: str
) -> None:
    with pytest.raises(ml.InvalidPolicy) as caught:
        ml.GatePolicy.loads(text, source="gate.toml")
    error = caught.value
    assert (error.key, error.line, error.source) == (key, line, "gate.toml")
    assert str(error).startswith(f"gate.toml, line {line}: {key}: ")
    assert words in str(error)
    assert isinstance(error, ml.InvalidInput) and isinstance(error, ValueError)


def test_yaml_and_json_errors_name_the_line_too(tmp_path: Path) -> None:
    bad = ISSUE_YAML.replace("max_share: 0.3", "max_share: lots")
    with pytest.raises(ml.InvalidPolicy, match=r"gate\.yaml, line 17: drift\.max_share: must be"):
        ml.GatePolicy.loads(bad, "yaml", source="gate.yaml")
    with pytest.raises(ml.InvalidPolicy, match=r"line 3: not valid YAML") as caught:
        ml.GatePolicy.loads("metrics:\n  accuracy: {direction: increase\nslices: 1\n", "yaml")
    assert caught.value.line == 3
    with pytest.raises(ml.InvalidPolicy, match=r"write it with a decimal point"):
        ml.GatePolicy.loads("drift:\n  max_share: 1e-3\n", "yaml")
    with pytest.raises(ml.InvalidPolicy, match=r"line 2: drift\.nope: unknown key"):
        ml.GatePolicy.loads('{"drift":\n {"nope": 1}}', "json")
    with pytest.raises(ml.InvalidPolicy, match=r"line 2: not valid JSON"):
        ml.GatePolicy.loads('{"drift":\n {"nope" 1}}', "json")


def test_unreadable_policies(tmp_path: Path) -> None:
    with pytest.raises(ml.InvalidPolicy, match=r"not valid TOML.*line 2"):
        ml.GatePolicy.loads('[metrics.accuracy]\ndirection = "increase\n')
    with pytest.raises(ml.PathNotFound, match="no policy file"):
        ml.GatePolicy.load(tmp_path / "missing.toml")
    (tmp_path / "gate.ini").write_text("[metrics]\n")
    with pytest.raises(ml.InvalidPolicy, match=r"must end in \.toml, \.yaml, \.yml or \.json"):
        ml.GatePolicy.load(tmp_path / "gate.ini")
    (tmp_path / "gate.toml").write_bytes(b"against = '\xff'\n")
    with pytest.raises(ml.InvalidPolicy, match="not UTF-8"):
        ml.GatePolicy.load(tmp_path / "gate.toml")
    with pytest.raises(ml.InvalidPolicy, match="the policy"):
        ml.GatePolicy.loads("- a\n- b\n", "yaml")
    with pytest.raises(ml.InvalidPolicy, match="format must be"):
        ml.GatePolicy.loads("", "ini")  # type: ignore[arg-type]


def test_an_empty_policy_has_no_rules_and_a_dotted_key_gets_its_line() -> None:
    assert ml.GatePolicy.loads("") == ml.GatePolicy.from_dict({})
    text = textwrap.dedent(
        """\
        [metrics]
        accuracy.direction = "increase"
        accuracy.max_drop = "x"
        """
    )
    with pytest.raises(ml.InvalidPolicy) as caught:
        ml.GatePolicy.loads(text)
    assert caught.value.line == 3 and caught.value.key == "metrics.accuracy.max_drop"


@pytest.mark.parametrize(
    ("build", "named"),
    [
        (
            lambda: ml.GatePolicy(
                metrics=(MetricRule("loss", "decrease", max_drop=0.1),) * 2,
            ),
            "metrics: 'loss'",
        ),
        (
            lambda: ml.GatePolicy(
                evidence=ml.gate.EvidenceRule(
                    attached=(AttachedRule("evidently", at_most=(("share", 0.3), ("share", 0.5))),)
                )
            ),
            "evidence.attached.evidently.max: 'share'",
        ),
        (
            lambda: ml.GatePolicy(
                evidence=ml.gate.EvidenceRule(
                    attached=(AttachedRule("x", at_least=(("n", 1.0),)),) * 2
                )
            ),
            "evidence.attached: 'x'",
        ),
    ],
)
def test_a_rule_stated_twice_in_a_policy_built_by_hand_is_refused(
    build: Callable[[], object], named: str
) -> None:
    """A file cannot hold a key twice; a hand-built policy that does would lose one silently."""
    with pytest.raises(ml.InvalidPolicy, match="stated more than once") as caught:
        build()
    assert named in str(caught.value)
