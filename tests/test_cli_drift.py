"""The drift and bisect commands, run as a user runs them."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import mlineage as ml

SRC = str(Path(__file__).parents[1] / "src")


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlineage.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": SRC},
    )


@pytest.fixture
def store(tmp_path: Path) -> str:
    """Twelve months; from month 7 the data is shifted and the checkpoint is "bad"."""
    tracker = ml.Tracker("churn", storage=str(tmp_path / "s"), capture_environment=False)
    rng = np.random.default_rng(7)
    for month in range(1, 13):
        x = rng.normal(size=(300, 4))
        if month >= 7:
            x[:, 2] += 1.5
        checkpoint = tmp_path / f"m{month}.bin"
        checkpoint.write_text("bad\n" if month >= 7 else "good\n")
        tracker.log(
            model_path=str(checkpoint),
            dataset=ml.DataSnapshot.from_array(x, profile=True),
            metrics={"accuracy": 0.9 - (0.03 if month >= 7 else 0.0) + 0.001 * (month % 3)},
            name=f"month-{month}",
        )
    return str(tmp_path / "s")


def test_drift_and_drift_along(store: str) -> None:
    result = cli("--store", store, "drift", "churn", "month-7")
    assert result.returncode == 0, result.stderr
    assert "1 of 4 features drifted (Bonferroni p < 0.05; dataset drift needs" in result.stdout
    assert "DRIFT" in result.stdout
    report = json.loads(
        cli("--store", store, "drift", "churn", "month-6", "month-7", "--json").stdout
    )
    assert [f["name"] for f in report["features"] if f["drifted"]] == ["2"]

    along = cli("--store", store, "drift-along", "churn")
    assert along.returncode == 0 and "anomalous step (drift score z" in along.stdout
    assert not list(Path(store, "models", "churn").glob("cache"))  # read-only by default
    data = json.loads(
        cli("--store", store, "drift-along", "churn", "--write-cache", "--json").stdout
    )
    assert len(data["anomalous"]) == 1 and len(data["steps"]) == 11
    assert len(list(Path(store, "models", "churn", "cache", "drift").iterdir())) == 11


def test_drift_without_profile_is_a_clear_error(tmp_path: Path) -> None:
    tracker = ml.Tracker("plain", storage=str(tmp_path / "s"), capture_environment=False)
    for i in range(2):
        tracker.log(model_path=f"{i}.pt", dataset=ml.DataSnapshot(hash=f"sha256:{i}"))
    result = cli("--store", str(tmp_path / "s"), "drift", "plain")
    assert result.returncode == 2
    assert "no data profile" in result.stderr and "profile=True" in result.stderr


def test_blame_with_drift(store: str) -> None:
    result = cli("--store", store, "blame", "churn", "accuracy", "--with-drift", "--limit", "3")
    assert result.returncode == 0, result.stderr
    assert "month-7" in result.stdout.splitlines()[2]  # the first row, under the header
    assert "data drift: 1 of 4 features drifted (Bonferroni p < 0.05; " in result.stdout
    assert "Spearman rho" in result.stdout
    data = json.loads(
        cli("--store", store, "blame", "churn", "accuracy", "--with-drift", "--json").stdout
    )
    assert data["steps"][0]["drift"]["top"] == ["2"]
    assert data["drift_correlation"]["n"] == 11


def test_bisect_run_with_a_shell_script(store: str, tmp_path: Path) -> None:
    script = tmp_path / "check.sh"
    script.write_text(
        "#!/bin/sh\n"
        'echo "testing $MLINEAGE_VERSION"\n'
        '[ -z "$MLINEAGE_CHECKOUT" ] && exit 125\n'
        'grep -rq bad "$MLINEAGE_CHECKOUT/model" && exit 1\n'
        "exit 0\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    result = cli(
        "--store", store, "bisect", "run", "churn", "month-1", "month-12", "--", str(script)
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("first bad version: ")
    assert "(month-7)" in result.stdout.splitlines()[0]
    assert "testing " in result.stderr  # the command's output goes to stderr
    evaluations = [line for line in result.stdout.splitlines() if line.startswith("  ")]
    assert len(evaluations) <= 4  # ceil(log2 11)

    # A version whose checkpoint is gone: checkout fails, the script skips it (125).
    tracker = ml.Tracker.load("churn", storage=store)
    Path(tracker.get_version("month-6").model_path).unlink()
    data = json.loads(
        cli(
            "--store",
            store,
            "bisect",
            "run",
            "churn",
            "month-1",
            "month-12",
            "--json",
            "--",
            str(script),
        ).stdout
    )
    month6 = tracker.get_version("month-6").id
    assert month6 in data["skipped"]
    # month-5 is good and month-7 bad: without month-6, either could be the first bad one
    assert data["first_bad_name"] == "month-7" and data["ambiguous"]
    assert data["candidates"] == [month6, tracker.get_version("month-7").id]


def test_bisect_run_aborts_on_status_128(store: str, tmp_path: Path) -> None:
    result = cli(
        "--store",
        store,
        "bisect",
        "run",
        "churn",
        "month-1",
        "month-12",
        "--",
        sys.executable,
        "-c",
        "raise SystemExit(130)",
    )
    assert result.returncode == 2 and "aborted" in result.stderr and "130" in result.stderr
