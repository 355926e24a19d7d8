"""The mlineage command, run as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import mlineage as ml


@pytest.fixture
def store(tmp_path: Path) -> str:
    tracker = ml.Tracker("fraud-detector", storage=str(tmp_path / "s"))
    for i, acc in enumerate([0.90, 0.93, 0.88]):
        tracker.log(
            model_path=f"{i}.pt",
            dataset=ml.DataSnapshot(path=f"d{i}", hash=f"sha256:{i}"),
            metrics={"accuracy": acc},
            hyperparameters={"lr": 0.1 * (i + 1)},
            name=f"v{i}",
            notes=f"update {i}",
        )
    tracker.set_alias("production", "v1")
    return str(tmp_path / "s")


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlineage.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")},
    )


def test_models_history_show(store: str) -> None:
    assert cli("--store", store, "models").stdout.split() == ["fraud-detector"]
    out = cli("--store", store, "history", "fraud-detector").stdout
    assert "3 versions" in out
    assert "[production]" in out
    shown = json.loads(cli("--store", store, "show", "fraud-detector", "v1", "--json").stdout)
    assert shown["name"] == "v1"
    assert shown["aliases"] == ["production"]
    history = json.loads(cli("--store", store, "history", "fraud-detector", "--json").stdout)
    assert [v["name"] for v in history] == ["v2", "v1", "v0"]


def test_blame_and_exit_codes(store: str) -> None:
    result = cli("--store", store, "blame", "fraud-detector", "accuracy")
    assert result.returncode == 0
    assert "update 2" in result.stdout
    report = json.loads(
        cli("--store", store, "blame", "fraud-detector", "accuracy", "--json").stdout
    )
    assert report["steps"][0]["name"] == "v2"
    nothing = cli(
        "--store",
        store,
        "blame",
        "fraud-detector",
        "accuracy",
        "--direction",
        "increase",
        "--on",
        "v0",
    )
    assert nothing.returncode == 1


def test_diff_and_aliases(store: str) -> None:
    out = cli("--store", store, "diff", "fraud-detector", "v0", "v2").stdout
    assert "hyperparameter lr" in out
    aliases = json.loads(cli("--store", store, "aliases", "fraud-detector", "--json").stdout)
    assert list(aliases) == ["production"]


def test_errors_are_messages_not_tracebacks(store: str) -> None:
    result = cli("--store", store, "show", "fraud-detector", "nope")
    assert result.returncode == 2
    assert result.stderr.startswith("mlineage: error: no version")
    assert "Traceback" not in result.stderr
    result = cli("--store", store, "history", "frod")
    assert result.returncode == 2
    assert "fraud-detector" in result.stderr
    result = cli("--store", "ftp://x/y", "models")
    assert result.returncode == 2
    assert "known schemes" in result.stderr


def test_checkout_at_a_time_and_into_a_directory(tmp_path: Path) -> None:
    checkpoint = tmp_path / "model.bin"
    checkpoint.write_bytes(b"weights-v1")
    tracker = ml.Tracker("fraud", storage=str(tmp_path / "s"), archive=True)
    first = tracker.log(
        model_path=str(checkpoint), dataset=ml.DataSnapshot(hash="h1"), timestamp="2024-01-10"
    )
    checkpoint.write_bytes(b"weights-v2")
    tracker.log(
        model_path=str(checkpoint), dataset=ml.DataSnapshot(hash="h2"), timestamp="2024-02-10"
    )
    tracker.set_alias("production", first, at="2024-01-11")
    store = str(tmp_path / "s")
    shown = json.loads(
        cli("--store", store, "checkout", "fraud", "--at", "2024-01-20", "--json").stdout
    )
    assert shown["version"]["id"] == first.id
    result = cli("--store", store, "checkout", "fraud", "production", "--to", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out/model/model.bin").read_bytes() == b"weights-v1"
    again = cli("--store", store, "checkout", "fraud", "production", "--to", str(tmp_path / "out"))
    assert again.returncode == 2
    assert "not empty" in again.stderr
    early = cli("--store", store, "checkout", "fraud", "--at", "2023-12-01")
    assert early.returncode == 2
    assert "before the first version" in early.stderr
