"""Synthetic histories for the gate's tests: a model whose every version carries metrics,
a fingerprint on one labelled probe set grouped by region, and a profiled data snapshot."""

from __future__ import annotations

from typing import Any

import numpy as np

import mlineage as ml
from mlineage.analysis import ProbeSet

#: Probe rows; the first RARE are the rare region, the last WRONG the baseline gets wrong.
N, RARE, WRONG = 1000, 50, 100
#: Accuracy along the accepted history: ordinary month-to-month noise.
HISTORY = (0.900, 0.904, 0.899, 0.903, 0.901)

ISSUE_POLICY = """\
against = "production"

[metrics.accuracy]
direction = "increase"        # higher is better
max_drop = 0.01               # absolute; or max_drop_relative = 0.02; or max_drop_noise = 3

[metrics.loss]
direction = "decrease"
max_drop_noise = 3            # a rise of more than 3 x the metric's step noise fails

[behaviour]
probe = "holdout-probes"      # probe-set name; default: the one both versions share
max_negative_flip_rate = 0.01
min_backward_trust_compatibility = 0.98

[slices]
by = "region"                 # a probe set's group_by
max_drop = 0.02

[drift]
max_share = 0.3
must_not_drift = ["amount"]
"""

FEATURES = ["amount", "hour", "risk"]


class Story:
    """A tracker plus the means to log versions that behave as a test needs."""

    def __init__(self, storage: str, model: str = "gated") -> None:
        self.tracker = ml.Tracker(model, storage=storage, capture_environment=False)
        rng = np.random.default_rng(7)
        X = rng.normal(size=(N, 2))  # noqa: N806
        self.y = (np.arange(N) % 2).astype(np.int64)
        groups = np.where(np.arange(N) < RARE, "rare", "common")
        self.probe = ProbeSet(X, self.y, groups=groups, name="holdout-probes", group_by="region")
        self.months = 0

    def baseline(self) -> np.ndarray[Any, Any]:
        """Predictions right everywhere but on the last WRONG rows (probe accuracy 0.9)."""
        predictions = self.y.copy()
        predictions[-WRONG:] = 1 - predictions[-WRONG:]
        return predictions

    def log(
        self,
        accuracy: float,
        predictions: np.ndarray[Any, Any] | None = None,
        *,
        loss: float | None = None,
        shift: float = 0.0,
        fingerprint: bool = True,
        profile: bool = True,
        name: str | None = None,
    ) -> ml.ModelVersion:
        """Log the next version: ``shift`` moves the data's ``amount`` column."""
        self.months += 1
        rng = np.random.default_rng(100 + self.months)
        X = rng.normal(size=(400, len(FEATURES)))  # noqa: N806
        X[:, 0] += shift
        dataset = ml.DataSnapshot(path=f"data/{self.months}", hash=f"sha256:{self.months:064x}")
        if profile:
            from mlineage.analysis import DataProfile

            dataset = dataset.with_profile(DataProfile.from_array(X, columns=FEATURES))
        metrics = {"accuracy": accuracy, "loss": 1.0 - accuracy if loss is None else loss}
        fields: dict[str, Any] = {}
        if fingerprint:
            preds = self.baseline() if predictions is None else predictions
            fields["fingerprint"] = self.probe.fingerprint(predictions=preds)
        return self.tracker.log(
            model_path=f"m{self.months}.pt",
            dataset=dataset,
            metrics=metrics,
            name=name or f"v{self.months}",
            **fields,
        )

    def history(self) -> ml.ModelVersion:
        """The accepted history (HISTORY), production on its last version."""
        for accuracy in HISTORY:
            version = self.log(accuracy)
        self.tracker.set_alias("production", version)
        return version


def noise(story: Story) -> float:
    """The step noise of accuracy along the accepted history (blame's robust scale)."""
    scale = story.tracker.blame_report("accuracy", on="production").scale
    assert scale is not None
    return scale
