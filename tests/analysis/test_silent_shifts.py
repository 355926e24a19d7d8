"""Silent shifts judged against the history's own noise (issue 20, item 4).

A noisy model whose ordinary monthly updates change 5-18 % of its probe answers is not
"silently shifting" every month; a quiet model's 3 % move is a shift. Both streams below
keep every metric within its noise, so only behaviour decides.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import mlineage as ml
from mlineage.analysis import ProbeSet
from mlineage.errors import InvalidInput

N = 1_000


def _stream(tmp_path: Path, flips: list[float], seed: int = 0) -> list[ml.ModelVersion]:
    """One version per entry: the first has random answers, each next flips that share."""
    rng = np.random.default_rng(seed)
    probe = ProbeSet(rng.normal(size=(N, 3)), rng.integers(0, 2, N), name="holdout")
    tracker = ml.Tracker("m", storage=tmp_path / "store", capture_environment=False)
    answers = rng.integers(0, 2, N)
    accuracy = 0.9
    versions = []
    for k, share in enumerate(flips):
        flip = rng.choice(N, size=round(share * N), replace=False)
        answers = answers.copy()
        answers[flip] = 1 - answers[flip]
        accuracy += rng.normal(0, 0.003) if k % 7 else 0.0005  # ordinary metric noise
        with tracker.log_version() as v:
            v.model_path = "m.pt"
            v.dataset = ml.DataSnapshot(hash=f"sha256:{k}")
            v.metrics = {"accuracy": accuracy}
            v.fingerprint = probe.fingerprint(predictions=answers)
            v.name = f"month-{k}"
        versions.append(v.version)
    return versions


@pytest.mark.parametrize("seed", range(3))
def test_a_noisy_models_routine_updates_are_not_shifts_its_migration_is(
    tmp_path: Path, seed: int
) -> None:
    rng = np.random.default_rng(100 + seed)
    flips = [0.0, *rng.uniform(0.05, 0.18, 27).tolist()]
    flips[14] = 0.45  # the real migration; month 14's accuracy moves by +0.0005 only
    versions = _stream(tmp_path, flips, seed)
    tracker = ml.Tracker.load("m", storage=tmp_path / "store")
    result = tracker.analysis.silent_shifts()
    assert result.versions == [versions[14]]
    assert result.z == 3.5 and "ordinary steps" in result.rules["churn"]
    assert result.shifts[0].z["churn"] > 3.5
    # the fixed threshold of before calls most routine updates shifts
    fixed = tracker.analysis.silent_shifts(threshold={"churn": 0.05})
    assert len(fixed.shifts) >= 14 and versions[14] in fixed.versions
    assert fixed.z is None and fixed.rules["churn"] == "churn > 5 % (fixed)"


def test_a_quiet_models_small_real_shift_is_flagged(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    flips = [0.0, *rng.uniform(0.002, 0.008, 20).tolist()]
    flips[10] = 0.03  # below the fixed 5 %, far above this model's ordinary movement
    versions = _stream(tmp_path, flips, 1)
    tracker = ml.Tracker.load("m", storage=tmp_path / "store")
    assert tracker.analysis.silent_shifts().versions == [versions[10]]
    assert tracker.analysis.silent_shifts(threshold=0.05).versions == []
    # a looser z still leaves this model's ordinary moves below the floor (1 % churn)
    assert tracker.analysis.silent_shifts(z=1.0).versions == [versions[10]]


def test_short_histories_fall_back_to_the_fixed_thresholds(tmp_path: Path) -> None:
    versions = _stream(tmp_path, [0.0, 0.01, 0.08, 0.02])
    result = ml.Tracker.load("m", storage=tmp_path / "store").analysis.silent_shifts()
    assert result.thresholds["churn"] == 0.05 and "fixed: 3 steps" in result.rules["churn"]
    assert [s.version for s in result.steps if s.moved] == [versions[2]]


def test_the_options_are_checked(tmp_path: Path) -> None:
    _stream(tmp_path, [0.0, 0.1])
    analysis = ml.Tracker.load("m", storage=tmp_path / "store").analysis
    for bad in (0, -1.0, True, "3"):
        with pytest.raises(InvalidInput, match="z must be a positive number"):
            analysis.silent_shifts(z=bad)  # type: ignore[arg-type]
