"""How analysis results show in a notebook and a REPL: short reprs, bounded HTML tables.

Issue 20, item 7: every result has a ``_repr_html_``, its ``repr()`` stays under 2 KB
however large the input, and no view leaks ``<... object at 0x...>``.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import mlineage as ml
from mlineage.analysis import ProbeSet, compare_fingerprints
from mlineage.stats.calibration import calibration_from_confidence
from mlineage.stats.profile import DataProfile, drift_between

LEAK = re.compile(r"object at 0x")
HTML_LIMIT = 40_000  # a notebook table of at most ~20 rows


def _check(result: Any, name: str) -> str:
    text, html = repr(result), result._repr_html_()
    assert len(text) < 2_000, (name, len(text))
    assert len(html) < HTML_LIMIT, (name, len(html))
    assert not LEAK.search(text) and not LEAK.search(html) and not LEAK.search(str(result))
    assert text.startswith(f"<{name} ") or text.startswith(f"<{name}>"), text[:80]
    return html


def test_a_drift_report_of_500_features() -> None:
    rng = np.random.default_rng(0)
    ref, cur = rng.normal(size=(300, 500)), rng.normal(size=(300, 500))
    cur[:, :400] += 2.0
    report = drift_between(DataProfile.from_array(ref), DataProfile.from_array(cur))
    html = _check(report, "DriftReport")
    assert "dataset drift: 400 of 500 features drifted" in html
    assert "... 480 more" in html and html.count("<tr>") <= 22


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> ml.Tracker:
    store = tmp_path_factory.mktemp("views") / "store"
    tracker = ml.Tracker("views", storage=store, capture_environment=False)
    rng = np.random.default_rng(1)
    probe = ProbeSet(rng.normal(size=(200, 2)), rng.integers(0, 2, 200), name="p")
    answers = rng.integers(0, 2, 200)
    for k in range(8):
        x = rng.normal(size=(100, 3)) + (3.0 if k == 5 else 0.0)
        answers = answers.copy()
        answers[rng.choice(200, 3 if k != 5 else 60, replace=False)] ^= 1
        with tracker.log_version() as v:
            v.model_path = "m.pt"
            v.dataset = ml.DataSnapshot.from_array(x, profile=True)
            v.metrics = {"accuracy": 0.9}
            v.fingerprint = probe.fingerprint(predictions=answers)
            v.name = f"month-{k}"
    return tracker


def test_drift_along_and_silent_shifts_of_2000_steps(history: ml.Tracker) -> None:
    along = history.analysis.drift_along()
    big = dataclasses.replace(along, steps=along.steps * 300)  # 2,100 steps
    html = _check(big, "DriftAlong")
    assert "... 2080 more" in html
    assert "anomalous step (drift score z" in html
    assert len(repr(big.steps[4])) < 2_000 and repr(big.steps[4]).startswith("<DriftStep ")
    shifts = history.analysis.silent_shifts()
    assert [v.name for v in shifts.versions] == ["month-5"]
    big_shifts = dataclasses.replace(shifts, steps=shifts.steps * 300)
    html = _check(big_shifts, "SilentShifts")
    assert "... 280 more" in html
    assert len(repr(shifts.steps[0])) < 2_000


def test_change_points_of_a_long_random_walk(tmp_path: Path) -> None:
    tracker = ml.Tracker("walk", storage=f"memory://{tmp_path.name}", capture_environment=False)
    walk = np.cumsum(np.random.default_rng(2).normal(size=600))
    for k, value in enumerate(walk):
        tracker.log(
            model_path="m.pt", dataset=ml.DataSnapshot(hash=f"sha256:{k}"), metrics={"m": value}
        )
    _check(tracker.analysis.change_points("m", penalty=0.0), "ChangePoints")


def test_a_behaviour_diff_of_1000_groups_and_flips() -> None:
    rng = np.random.default_rng(3)
    n = 20_000
    probe = ProbeSet(
        rng.normal(size=(n, 2)), rng.integers(0, 2, n), groups=rng.integers(0, 1000, n)
    )
    old = probe.fingerprint(predictions=rng.integers(0, 2, n))
    new = probe.fingerprint(predictions=rng.integers(0, 2, n))
    diff = compare_fingerprints(old, new, probe, top=1_000)
    html = _check(diff, "BehaviorDiff")
    assert len(diff.groups) == 1000 and "... 980 more" in html and "... 990 more" in html
    assert "churn" in repr(diff) and "NFR" in repr(diff)


def test_a_calibration_of_1000_bins() -> None:
    rng = np.random.default_rng(4)
    confidence = rng.random(50_000)
    result = calibration_from_confidence(rng.random(50_000) < confidence, confidence, n_bins=1000)
    html = _check(result, "CalibrationResult")
    assert "ECE" in repr(result) and "... 980 more" in html


def test_html_escapes_what_records_hold() -> None:
    names = ["<script>alert(1)</script>", "b"]
    rng = np.random.default_rng(5)
    report = drift_between(
        DataProfile.from_array(rng.normal(size=(50, 2)), columns=names),
        DataProfile.from_array(rng.normal(size=(50, 2)) + 5, columns=names),
    )
    assert "<script>" not in report._repr_html_() and "&lt;script&gt;" in report._repr_html_()


def test_result_plots_name_their_versions(history: ml.Tracker) -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for ax in (
        history.analysis.drift_along().plot(),
        history.analysis.change_points("accuracy").plot(),
        history.analysis.drift_along().plot(x="time"),
    ):
        ax.figure.canvas.draw()
        labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
        assert labels, ax.get_title()
        if ax.get_xlabel().startswith("version"):
            assert set(labels) <= {f"month-{k}" for k in range(8)}
            lo, hi = ax.get_xlim()
            assert all(float(t).is_integer() for t in ax.get_xticks() if lo <= t <= hi)
    along = history.analysis.drift_along().plot()
    assert len(along.collections) == 1  # month-5's ring
    plt.close("all")


def test_blame_reprs_stay_short(tmp_path: Path) -> None:
    tracker = ml.Tracker("blame", storage=f"memory://b-{tmp_path.name}", capture_environment=False)
    rng = np.random.default_rng(6)
    for k in range(400):
        tracker.log(
            model_path="m.pt",
            dataset=ml.DataSnapshot(hash=f"sha256:{k}"),
            metrics={"accuracy": 0.9 + rng.normal(0, 0.01)},
        )
    report = tracker.blame_report("accuracy")
    assert len(repr(report)) < 2_000 and repr(report).startswith("<BlameReport accuracy")
