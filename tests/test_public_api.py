"""The code users already run: README quick start and the design's API, in fresh processes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import mlineage as ml

ROOT = Path(__file__).resolve().parents[1]


def run(code: str, cwd: Path) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def readme_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_readme_quick_start_runs_and_reloads(tmp_path: Path) -> None:
    first, second = readme_blocks()[:2]
    out = run(first, tmp_path)
    assert "fraud-model-v3.2" in out
    assert "blame accuracy" in out
    assert "2 versions" in out
    out = run("import mlineage as ml\n" + second + "\nprint('delta', round(delta, 4))", tmp_path)
    assert "delta -0.05" in out
    assert "+ hyperparameter" not in out or "lr" in out


DESIGN_API = textwrap.dedent(
    """
    import mlineage as ml
    tracker = ml.Tracker("fraud-detector", storage="./lineage-store")
    for month, acc in [("jan", 0.94), ("feb", 0.95), ("mar", 0.90)]:
        with tracker.log_version() as v:          # parent = latest version, automatically
            v.model_path = "./checkpoints/model_20240201.pt"
            v.dataset = ml.DataSnapshot(path="./data/jan_2024/", hash="sha256:abc123")
            v.metrics = {"accuracy": acc, "f1": 0.91}
            v.hyperparameters = {"lr": 1e-3}
            v.notes = "Monthly update with " + month
            v.tags = ["jan-2024"]
            v.name = "fraud-model-v3." + str(len(tracker))
    version = v.version                        # the committed ModelVersion after the block
    culprit = tracker.blame(metric="accuracy", direction="decrease")
    print("culprit", culprit.notes, culprit.dataset.hash, culprit.hyperparameters, culprit.id)
    print("version", version.id)
    """
)

DESIGN_RELOAD = textwrap.dedent(
    """
    import mlineage as ml
    tracker = ml.Tracker.load("fraud-detector", storage="./lineage-store")   # in a new process
    for version in tracker.lineage("fraud-model-v3.2").ancestors():
        print("ancestor", version.id, version.created_at.isoformat(), version.notes)
    history = tracker.history()                # newest first
    delta = history[0].metric_delta(history[1], "accuracy")
    print("delta", round(delta, 6))
    print("names", [v.name for v in history])
    """
)


def test_design_api_verbatim_in_two_processes(tmp_path: Path) -> None:
    out = run(DESIGN_API, tmp_path)
    culprit_line = next(line for line in out.splitlines() if line.startswith("culprit"))
    assert "Monthly update with mar" in culprit_line
    version_id = next(line for line in out.splitlines() if line.startswith("version")).split()[1]
    assert culprit_line.endswith(version_id)
    out = run(DESIGN_RELOAD, tmp_path)
    assert "delta -0.05" in out
    assert "names ['fraud-model-v3.2', 'fraud-model-v3.1', 'fraud-model-v3.0']" in out
    ancestors = [line.split()[1] for line in out.splitlines() if line.startswith("ancestor")]
    # in this process the same store shows the same ids, parents, metrics and timestamps
    tracker = ml.Tracker.load("fraud-detector", storage=str(tmp_path / "lineage-store"))
    assert [v.id for v in tracker.history()[1:]] == ancestors
    latest = tracker.latest()
    assert latest is not None and latest.id == version_id
    assert latest.metrics == {"accuracy": 0.90, "f1": 0.91}


def test_prototype_names_are_importable() -> None:
    for name in [
        "Tracker",
        "DataSnapshot",
        "EnvironmentSnapshot",
        "ModelVersion",
        "VersionStatus",
        "LineageGraph",
    ]:
        assert hasattr(ml, name)
        assert getattr(ml, name).__doc__


def test_import_is_light() -> None:
    code = (
        "import sys, time; t = time.perf_counter(); import mlineage; "
        "print(time.perf_counter() - t); "
        "print([m for m in ('pandas', 'scipy', 'boto3', 'matplotlib', 'networkx', "
        "'google.cloud.storage', 'torch') if m in sys.modules])"
    )
    out = run(code, ROOT).splitlines()
    assert out[1] == "[]"


def test_examples_run(tmp_path: Path) -> None:
    for example in ["quickstart.py", "fraud_detector_continual.py"]:
        result = subprocess.run(
            [sys.executable, str(ROOT / "examples" / example), str(tmp_path / example)],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=tmp_path,
        )
        assert result.returncode == 0, result.stderr
        assert "blame" in result.stdout.lower()
