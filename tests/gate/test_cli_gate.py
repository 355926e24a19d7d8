"""``mlineage gate`` and ``mlineage promote`` as a CI pipeline runs them: exit 0 pass,
1 refused, 2 error, and ``--json``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import mlineage as ml
from tests.gate.story import HISTORY, ISSUE_POLICY, RARE, Story
from tests.test_cli import cli


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    root = tmp_path_factory.mktemp("cli-gate")
    story = Story(str(root / "store"))
    story.history()
    story.log(HISTORY[-1], name="good")
    predictions = story.baseline()
    predictions[:RARE] = 1 - story.y[:RARE]
    story.log(HISTORY[-1] + 0.01, predictions, name="bad")
    (root / "gate.toml").write_text(ISSUE_POLICY)
    return str(root / "store"), root / "gate.toml"


def test_gate_exit_codes_and_json(store: tuple[str, Path]) -> None:
    uri, policy = store
    passed = cli("--store", uri, "gate", "gated", "good", "--policy", str(policy))
    assert passed.returncode == 0, passed.stderr
    assert passed.stdout.startswith("gate PASSED: gated")
    refused = cli("gate", "gated", "bad", "--policy", str(policy), "--store", uri, "--json")
    assert refused.returncode == 1
    data = json.loads(refused.stdout)
    assert data["passed"] is False and "slices.max_drop" in data["failed"]
    assert data["against"]["ref"] == "production" and data["policy"]["text"] == ISSUE_POLICY
    versus_good = cli("--store", uri, "gate", "gated", "bad", "--policy", str(policy))
    assert "FAIL  slices.max_drop" in versus_good.stdout
    # the gate wrote nothing: no verdict
    assert ml.Tracker.load("gated", storage=uri).evidence(kind="gate").events == ()


def test_gate_errors_exit_2_with_the_key_and_line(store: tuple[str, Path], tmp_path: Path) -> None:
    uri, _ = store
    bad = tmp_path / "gate.toml"
    bad.write_text('[metrics.accuracy]\ndirection = "increase"\nmax_dorp = 0.01\n')
    result = cli("--store", uri, "gate", "gated", "good", "--policy", str(bad))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"{bad}, line 3: metrics.accuracy.max_dorp: unknown key" in result.stderr
    missing = cli("--store", uri, "gate", "gated", "nope", "--policy", str(bad))
    assert missing.returncode == 2
    unset = cli("--store", uri, "gate", "gated", "good", "--policy", str(bad), "--against", "qa")
    assert unset.returncode == 2


def test_promote_exit_codes_force_and_json(tmp_path: Path) -> None:
    story = Story(str(tmp_path / "store"))
    story.history()
    predictions = story.baseline()
    predictions[:RARE] = 1 - story.y[:RARE]
    story.log(HISTORY[-1] + 0.01, predictions, name="bad")
    story.log(HISTORY[-1], name="good")
    uri, policy = str(tmp_path / "store"), tmp_path / "gate.toml"
    policy.write_text(ISSUE_POLICY)
    refused = cli("--store", uri, "promote", "gated", "bad", "--policy", str(policy), "--json")
    assert refused.returncode == 1
    assert json.loads(refused.stdout)["decision"] == "refused"
    no_reason = cli("--store", uri, "promote", "gated", "bad", "--policy", str(policy), "--force")
    assert no_reason.returncode == 2 and "needs a reason" in no_reason.stderr
    promoted = cli("--store", uri, "promote", "gated", "good", "--policy", str(policy))
    assert promoted.returncode == 0, promoted.stderr
    assert promoted.stdout.startswith("promote production: PASS")
    forced = cli(
        "--store", uri, "promote", "gated", "bad", "--policy", str(policy), "--alias", "staging",
        "--against", "production", "--force", "--reason", "canary only", "--json",
    )  # fmt: skip
    assert forced.returncode == 0, forced.stderr
    assert json.loads(forced.stdout)["decision"] == "forced"
    tracker = ml.Tracker.load("gated", storage=uri)
    assert tracker.aliases()["production"].name == "good"
    assert tracker.aliases()["staging"].name == "bad"
    assert tracker.alias_history("staging")[-1].forced
    decisions = [e.summary["decision"] for e in tracker.evidence(kind="gate")]
    assert decisions == ["forced", "pass", "refused"]
    listed = cli("--store", uri, "evidence", "gated", "--kind", "gate")
    assert listed.returncode == 0 and listed.stdout.count("gate ") >= 3
