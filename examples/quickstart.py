"""Quick start: log three monthly updates of a fraud model, then ask which one broke accuracy.

Run it from the repository root (it writes ./lineage-store; run it again and the history
continues):

    python examples/quickstart.py [STORE]
"""

from __future__ import annotations

import sys

import mlineage as ml

store = sys.argv[1] if len(sys.argv) > 1 else "./lineage-store"
tracker = ml.Tracker("fraud-detector", storage=store)
start = len(tracker)

updates = [
    ("2024-01", {"accuracy": 0.94, "f1": 0.91}, 1e-3, "Monthly update with January fraud patterns"),
    ("2024-02", {"accuracy": 0.95, "f1": 0.92}, 1e-3, "February data, more card-not-present fraud"),
    ("2024-03", {"accuracy": 0.90, "f1": 0.85}, 3e-3, "March data; raised the learning rate"),
]
for i, (month, metrics, lr, notes) in enumerate(updates):
    with tracker.log_version() as v:  # parent = latest version, automatically
        v.model_path = f"./checkpoints/model_{month.replace('-', '')}.pt"
        v.dataset = ml.DataSnapshot(path=f"./data/{month}/", hash=f"sha256:{month}-snapshot")
        v.metrics = metrics
        v.hyperparameters = {"lr": lr, "batch_size": 512, "epochs": 3}
        v.notes = notes
        v.tags = [month]
        v.name = f"fraud-model-v3.{start + i}"
    print(f"logged {v.version.name} ({tracker.abbrev(v.version)})")

culprit = tracker.blame(metric="accuracy", direction="decrease")
assert culprit is not None
print(f"\naccuracy dropped most at {culprit.name}: {culprit.notes!r}")
print(f"  data {culprit.dataset.path}  hyperparameters {culprit.hyperparameters}\n")
print(tracker.blame_report("accuracy", "decrease"), "\n")
print(tracker.summary())
