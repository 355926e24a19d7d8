"""A fraud model retrained every month; the third update is a regression and blame finds it.

Each month: synthetic transactions are written to ./data/<month>/ (features and labels as
.npy files), a logistic-regression model is trained with numpy, its weights are saved as a
checkpoint, and the update is logged with a content-hashed data snapshot and an archived
checkpoint. In March a broken upstream join shuffles a third of the labels; accuracy falls,
and the lineage says which update did it, what changed, and what production ran when.

    python examples/fraud_detector_continual.py [WORKDIR]

It writes (and on the next run replaces) WORKDIR/lineage-store, data, checkpoints and
checkout-0315; WORKDIR defaults to ./fraud-demo.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np

import mlineage as ml

work = Path(sys.argv[1] if len(sys.argv) > 1 else "./fraud-demo")
# The demo backfills a 2024 history, so each run starts from a clean slate of its own files.
for own in ("lineage-store", "data", "checkpoints", "checkout-0315"):
    shutil.rmtree(work / own, ignore_errors=True)
work.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(2024)
true_weights = np.array([1.5, -2.0, 0.8, 0.0, 1.1])


def make_month(n: int, shift: float) -> tuple[np.ndarray, np.ndarray]:
    """Transactions whose fraud label depends on 5 features."""
    x = rng.normal(loc=shift, scale=1.0, size=(n, 5))
    y = (x @ true_weights + rng.normal(scale=0.5, size=n) > 2.0).astype(np.int64)
    return x, y


def with_bias(x: np.ndarray) -> np.ndarray:
    return np.hstack([x, np.ones((len(x), 1))])


def train(x: np.ndarray, y: np.ndarray, lr: float, epochs: int) -> np.ndarray:
    """Logistic regression by full-batch gradient descent."""
    xb = with_bias(x)
    w = np.zeros(xb.shape[1])
    for _ in range(epochs):
        p = 1 / (1 + np.exp(-(xb @ w)))
        w -= lr * xb.T @ (p - y) / len(y)
    return w


def evaluate(w: np.ndarray, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    pred = (with_bias(x) @ w > 0).astype(np.int64)
    tp = float(((pred == 1) & (y == 1)).sum())
    precision = tp / max(float(pred.sum()), 1.0)
    recall = tp / max(float(y.sum()), 1.0)
    f1 = 2 * precision * recall / max(precision + recall, 1e-12)
    return {"accuracy": float((pred == y).mean()), "f1": f1, "recall": recall}


x_test, y_test = make_month(4000, shift=0.2)  # a fixed, clean test set
tracker = ml.Tracker("fraud-detector", storage=str(work / "lineage-store"), archive=True)
months = [
    ("2024-01", 0.0, False, "January transactions"),
    ("2024-02", 0.2, False, "February transactions, spending drifted up"),
    ("2024-03", 0.3, True, "March transactions (new merchant join in the feature pipeline)"),
]
for month, shift, broken_join, notes in months:
    x_new, y_new = make_month(3000, shift)
    if broken_join:
        x_new[:, 1] = 0.0  # the join silently drops the card-velocity feature
    data_dir = work / "data" / month
    data_dir.mkdir(parents=True, exist_ok=True)
    np.save(data_dir / "features.npy", x_new)
    np.save(data_dir / "labels.npy", y_new)
    lr = 0.5
    weights = train(x_new, y_new, lr=lr, epochs=300)
    checkpoint = work / "checkpoints" / f"model_{month}.npy"
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    np.save(checkpoint, weights)
    with tracker.log_version(timestamp=f"{month}-28T02:00:00Z") as v:
        v.model_path = str(checkpoint)
        v.dataset = ml.DataSnapshot.from_path(data_dir)
        v.metrics = evaluate(weights, x_test, y_test)
        v.hyperparameters = {"lr": lr, "epochs": 300, "features": 5}
        v.notes = notes
        v.tags = [month]
        v.name = f"fraud-{month}-r{len(tracker)}"
    tracker.set_alias("production", v.version, at=f"{month}-28T06:00:00Z")
    print(
        f"{month}: accuracy {v.version.metrics['accuracy']:.3f}  f1 {v.version.metrics['f1']:.3f}"
    )

culprit = tracker.blame("accuracy", direction="decrease")
assert culprit is not None
print(f"\nblame: accuracy fell most at {culprit.name} — {culprit.notes}")
print(tracker.blame_report("accuracy"))
previous = tracker.get_version(culprit.parents[0])
print("\n" + str(tracker.diff(previous, culprit)))
in_production = tracker.checkout(
    "production", at="2024-03-15", to=work / "checkout-0315", overwrite=True
)
print(f"\nproduction on 2024-03-15: {in_production.version.name}, files in {in_production.path}")
