"""A scikit-learn model updated month by month, with its behaviour fingerprinted on the lineage.

A small neural network (``MLPClassifier.partial_fit``) learns a fraud-like rule from a
synthetic monthly stream. 2 % of the traffic comes from a rare region. Two updates go wrong
in ways the monthly accuracy does not show:

- **2024-04**: a pipeline bug flips the labels of the rare region's rows, in a month when a
  campaign brings many of them; from May the team leaves the region out of training until
  the labels are fixed. Overall accuracy dips by under two points, as ordinary months
  do; the rare region breaks, and stays broken.
- **2024-08**: the training job is migrated to a wider network with another activation,
  trained from scratch on all the data so far. Accuracy is flat, but the hidden
  representation is a new one and answers near the boundary change: a silent shift.

Every version is fingerprinted on one fixed probe set (with a region label per row), so
after the fact ``tracker.blame("accuracy", slice_by="region")`` names April for the rare
region, and ``tracker.analysis.silent_shifts()`` names August (and April: its overall
accuracy was flat too).

Run: ``python examples/continual_sklearn.py [STORE_DIR]`` (needs ``pip install
'mlineage[sklearn]'``; about ten seconds).
"""

from __future__ import annotations

import functools
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

import mlineage as ml
from mlineage.analysis import ProbeSet

MONTHS = [f"2024-{m:02d}" for m in range(1, 13)]
BUGGY_MONTH = "2024-04"  # a pipeline bug flips the rare region's labels
RESTART_MONTH = "2024-08"  # training job migrated: a new network, trained from scratch
RARE_SHARE = 0.02


def sample(rng: np.random.Generator, n: int, rare_share: float) -> tuple[np.ndarray, ...]:
    """Rows of the stream: features, labels, region."""
    x = rng.normal(size=(n, 4))
    rare = rng.random(n) < rare_share
    x[rare, 1] += 8.0  # the rare region sits apart on feature 1
    score = x[:, 0] + 0.8 * np.sin(2.0 * x[:, 2]) + 0.5 * x[:, 3] ** 2 - 0.5
    y = (score + 0.15 * rng.normal(size=n) > 0).astype(int)
    return x, y, np.where(rare, "rare", "common")


def hidden(model: MLPClassifier, batch: np.ndarray) -> np.ndarray:
    """The network's hidden layer: the representation the fingerprint keeps."""
    z = batch @ model.coefs_[0] + model.intercepts_[0]
    return np.tanh(z) if model.activation == "tanh" else np.maximum(z, 0.0)


def new_model(seed: int, width: int = 32, activation: str = "relu") -> MLPClassifier:
    return MLPClassifier(
        hidden_layer_sizes=(width,),
        activation=activation,
        learning_rate_init=0.01,
        random_state=seed,
    )


def main(store: str) -> None:
    rng = np.random.default_rng(2024)
    tracker = ml.Tracker("fraud-sklearn", storage=store, capture_environment=False)
    # The probe set: fixed inputs with labels and a region per row, stored once by hash.
    px, py, pregion = sample(np.random.default_rng(7), 4000, rare_share=0.1)
    probe = ProbeSet(px, py, groups=pregion, name="holdout-2024", group_by="region")

    model = new_model(seed=0)
    backlog_x, backlog_y, _ = sample(rng, 20000, RARE_SHARE)  # last year's data
    for _ in range(5):
        model.partial_fit(backlog_x, backlog_y, classes=[0, 1])
    seen = [(backlog_x, backlog_y)]
    excluded = False
    checkpoints = Path(store) / "checkpoints"
    checkpoints.mkdir(parents=True, exist_ok=True)
    for month in MONTHS:
        x, y, region = sample(rng, 4000, RARE_SHARE)
        if month == BUGGY_MONTH:
            y = np.where(region == "rare", 1 - y, y)
            extra_x, extra_y, _ = sample(rng, 150, rare_share=1.0)  # a rare-region campaign
            x, y = np.vstack([x, extra_x]), np.concatenate([y, 1 - extra_y])
            excluded = True
        elif excluded:  # the rare region is left out of training after the bug
            x, y = x[region == "common"], y[region == "common"]
        seen.append((x, y))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            if month == RESTART_MONTH:
                model = new_model(seed=1, width=64, activation="tanh")
                all_x = np.vstack([a for a, _ in seen])
                all_y = np.concatenate([b for _, b in seen])
                for _ in range(8):
                    model.partial_fit(all_x, all_y, classes=[0, 1])
            else:
                model.partial_fit(x, y, classes=[0, 1])
        test_x, test_y, _ = sample(rng, 3000, RARE_SHARE)
        path = checkpoints / f"{month}.npz"
        np.savez(path, *model.coefs_, *model.intercepts_)
        with tracker.log_version(timestamp=f"{month}-28T00:00:00Z") as v:
            v.name = month
            v.model_path = str(path)
            v.dataset = ml.DataSnapshot.from_array(x, y, path=f"stream/{month}")
            v.metrics = {"accuracy": float(model.score(test_x, test_y))}
            v.hyperparameters = {"hidden": model.hidden_layer_sizes[0], "lr": 0.01}
            v.fingerprint = probe.evaluate(
                predict_proba=model.predict_proba,
                embed=functools.partial(hidden, model),
            )

    print("Monthly accuracy (what the dashboard showed):")
    for version in reversed(tracker.history()):
        print(f"  {version.name}  {version.metrics['accuracy']:.4f}")

    overall = tracker.blame_report("accuracy").steps[0]
    print(
        f"\nOverall blame: {overall.version.name} ({overall.delta:+.4f}, "
        f"{overall.score:.1f} x the step noise) -- but why?"
    )

    print("\n== compare", BUGGY_MONTH, "with its parent ==")
    print(tracker.analysis.compare(BUGGY_MONTH, top=3))

    print("\n== blame accuracy by region ==")
    slices = tracker.blame("accuracy", slice_by="region")
    print(slices)
    culprit = slices["rare"]
    if culprit is not None:
        print(f"=> the rare region broke in {culprit.version.name}")

    print("\n== silent shifts ==")
    shifts = tracker.analysis.silent_shifts()
    print(shifts)
    print("=> silent shift in", ", ".join(str(v.name) for v in shifts.versions) or "none")

    churny = tracker.query(lambda v, p: (tracker.analysis.churn_between(v, p) or 0.0) > 0.05)
    print("\nUpdates that changed more than 5 % of the probe answers:", [v.name for v in churny])


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(sys.argv[1])
    else:
        with tempfile.TemporaryDirectory() as tmp:
            main(str(Path(tmp) / "lineage-store"))
