"""Regenerate the terminal DAG on the docs' front page (docs/index.md) from a real store.

Builds the fraud-detector lineage of ``examples/notebook.ipynb`` in a temporary store,
runs ``mlineage log --graph`` on it and replaces the text block between the
``<!-- log-graph -->`` markers of docs/index.md with the output. Version ids differ on
every run (they are time-ordered and random); everything else is stable.

    python scripts/docs_graph.py
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import mlineage as ml

ROOT = Path(__file__).parents[1]
PAGE = ROOT / "docs" / "index.md"
LOG = ["log", "--graph", "fraud-detector"]


def build(storage: Path) -> None:
    tracker = ml.Tracker("fraud-detector", storage=storage, capture_environment=False)
    t0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
    weeks = [(0.91, 1e-3), (0.92, 1e-3), (0.87, 3e-3), (0.92, 1e-3), (0.93, 1e-3)]
    for week, (accuracy, lr) in enumerate(weeks, 1):
        tracker.log(
            name=f"fraud-w{week}",
            timestamp=t0 + timedelta(weeks=week),
            model_path=f"checkpoints/w{week}.pt",
            dataset=ml.DataSnapshot(path=f"data/2024-w{week}/", hash=f"sha256:{week}"),
            metrics={"accuracy": accuracy},
            hyperparameters={"lr": lr},
        )
    tracker.log(
        parent="fraud-w2",
        kind="fine_tune",
        name="fraud-ft-eu",
        timestamp=t0 + timedelta(weeks=2, days=3),
        model_path="checkpoints/ft-eu.pt",
        dataset=ml.DataSnapshot(path="data/eu/", hash="sha256:eu"),
        metrics={"accuracy": 0.935},
    )
    tracker.log(
        parent="fraud-w1",
        kind="distill",
        name="fraud-small",
        timestamp=t0 + timedelta(weeks=5, days=2),
        model_path="checkpoints/small.pt",
        dataset=ml.DataSnapshot(path="data/2024-w1/", hash="sha256:1"),
        metrics={"accuracy": 0.89},
    )
    tracker.log(
        parents=["fraud-w5", "fraud-ft-eu"],
        kind="merge",
        name="fraud-w6",
        timestamp=t0 + timedelta(weeks=6),
        model_path="checkpoints/w6.pt",
        dataset=ml.DataSnapshot(path="data/2024-w6/", hash="sha256:6"),
        metrics={"accuracy": 0.94},
    )
    tracker.set_alias("production", "fraud-w4", at=t0 + timedelta(weeks=4, days=1))
    tracker.set_alias("staging", "fraud-w6", at=t0 + timedelta(weeks=6, days=1))


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "lineage-store"
        build(store)
        out = subprocess.run(
            [sys.executable, "-m", "mlineage.cli", "--store", str(store), *LOG],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    block = f"```text\n$ mlineage log --graph fraud-detector\n{out}```"
    text = PAGE.read_text()
    # Blank lines around the block: an HTML comment followed directly by a fence would
    # make Markdown read the fence as part of the comment's HTML block.
    pattern = re.compile(r"(<!-- log-graph -->)\n.*?(<!-- /log-graph -->)", re.S)
    PAGE.write_text(pattern.sub(lambda m: f"{m.group(1)}\n\n{block}\n\n{m.group(2)}", text))
    print(block)
    return 0


if __name__ == "__main__":
    sys.exit(main())
