"""``mlineage demo``: README's first command builds a real store, quickly, on a fresh path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import mlineage as ml
from mlineage.demo import build_demo

SRC = Path(__file__).parents[1] / "src"


def test_the_demo_command_builds_the_story_in_a_fresh_directory(tmp_path: Path) -> None:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "mlineage", "demo"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(SRC)},
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 60
    out = result.stdout
    assert "Built 13 versions of 'fraud-detector'" in out
    assert "lineage.html" in out and out.count("mlineage --store") == 3
    store = tmp_path / "mlineage-demo" / "store"
    tracker = ml.Tracker.load("fraud-detector", storage=str(store))
    history = tracker.history()
    assert [v.name for v in history][-1] == "fraud-2024-01" and len(history) == 12
    assert tracker.blame("accuracy").name == "fraud-2024-05"  # type: ignore[union-attr]
    assert tracker.status("fraud-2024-05") == ml.VersionStatus.ROLLED_BACK
    assert len(tracker.alias_history("production")) == 5
    assert tracker.resolve("production", at="2024-06-05").name == "fraud-2024-05"
    assert tracker.resolve("production", at="2024-06-09").name == "fraud-2024-04"
    assert tracker.resolve("production", at="2024-12-31").name == "fraud-2024-10"
    # then the gate refused May's update and passed December's, and kept both verdicts
    assert tracker.aliases()["production"].name == "fraud-2024-12"
    verdicts = {tracker.get_version(e.version).name: e for e in tracker.evidence(kind="gate")}
    assert verdicts["fraud-2024-05"].summary["decision"] == "refused"
    assert verdicts["fraud-2024-12"].summary["decision"] == "pass"
    assert tracker.alias_history("production")[-1].evidence == verdicts["fraud-2024-12"].id
    gate = subprocess.run(
        [sys.executable, "-m", "mlineage", "--store", str(store), "gate", "fraud-detector",
         "fraud-2024-05", "--policy", str(tmp_path / "mlineage-demo" / "gate.toml")],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(SRC)}, check=False,
    )  # fmt: skip
    assert gate.returncode == 1 and "FAIL  behaviour.max_negative_flip_rate" in gate.stdout
    merge = tracker.get_version("fraud-2024-08")
    fine_tune = tracker.get_version("fraud-2024-06-north")
    assert merge.kind == "merge" and merge.parents[1] == fine_tune.id
    assert fine_tune.kind == "fine_tune"
    report = (tmp_path / "mlineage-demo" / "lineage.html").read_text()
    assert len(report) > 10_000
    assert '"drift"' in report and '"behaviour"' in report  # the analyses' panels
    assert ml.fsck(str(store)).ok
    # the silent shift: the data drifted and behaviour moved, the metrics did not
    anomalous = [s.version.name for s in tracker.analysis.drift_along().anomalous]
    assert "fraud-2024-09" in anomalous
    shifts = [s.version.name for s in tracker.analysis.silent_shifts().shifts]
    assert "fraud-2024-09" in shifts and "fraud-2024-05" not in shifts
    changes = tracker.analysis.change_points("accuracy").changed_at
    assert changes and changes[0].name == "fraud-2024-05"


def test_the_demo_refuses_a_non_empty_directory_unless_forced(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(ml.InvalidInput, match="not empty"):
        build_demo(tmp_path)
    result = build_demo(tmp_path, force=True, report=False)
    assert (tmp_path / "keep.txt").read_text() == "mine"  # only the demo's own files go
    assert result.versions == 13 and not result.report.exists()
    again = subprocess.run(
        [sys.executable, "-m", "mlineage", "demo", "--path", str(tmp_path), "--json"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(SRC)},
        timeout=120,
        check=False,
    )
    assert again.returncode == 2 and "not empty" in again.stderr
    assert "Traceback" not in again.stderr
    forced = subprocess.run(
        [sys.executable, "-m", "mlineage", "demo", "--path", str(tmp_path), "--force", "--json"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(SRC)},
        timeout=120,
        check=False,
    )
    assert forced.returncode == 0, forced.stderr
    assert json.loads(forced.stdout)["culprit"] == "fraud-2024-05"
