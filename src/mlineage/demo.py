"""``mlineage demo``: a realistic lineage store, built in well under a minute.

A small real model — logistic regression trained by gradient descent in numpy, warm-started
every month, as a continually trained fraud model is — on a synthetic transaction stream:

- twelve monthly updates of ``fraud-detector`` (January to December 2024);
- May's labels are corrupted (a third flipped by a broken labelling job): accuracy drops,
  and ``blame`` names May;
- September onboards a new merchant category (its data drifts: ``drift_along`` flags it)
  and reweights fraud in training: 6% of the predictions on the fixed probe set flip while
  accuracy stays within its month-to-month noise (``silent_shifts`` finds it);
- a branch: a fine-tune for the rare ``north`` region from June, merged back in August;
- ``production`` moves three times; the move to May is rolled back (May's status becomes
  ``rolled_back`` and ``production`` returns to April);
- then promotions go through a gate (``gate.toml``, written next to the store): May's
  update is refused, December's passes and moves ``production``; both verdicts are kept
  as ``gate`` evidence.

Every version records its checkpoint (an ``.npy`` file, hashed), its exact training data
(a content hash of the arrays, with a data profile for drift), its behaviour on a fixed
probe set (a fingerprint: scores and per-feature contributions, per region),
hyperparameters, metrics on that month's holdout, notes and tags. Then it writes the
offline HTML report, with its drift and behaviour panels.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mlineage.errors import InvalidInput
from mlineage.storage import map_os_errors

if TYPE_CHECKING:
    from mlineage.analysis import Fingerprint, ProbeSet
    from mlineage.records import DataSnapshot
    from mlineage.tracker import Tracker

__all__ = ["DEMO_MODEL", "DemoResult", "build_demo"]

DEMO_MODEL = "fraud-detector"
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
FEATURES = ("amount", "hour", "merchant_risk", "velocity", "distance", "account_age", "device")
CORRUPTED = 4  # May
SHIFTED = 8  # September
RARE = "north"
#: The demo's promotion gate (docs/gate.md), also written to ``<path>/gate.toml``.
GATE_POLICY = """\
against = "production"

[metrics.accuracy]
direction = "increase"
max_drop_noise = 3            # a fall of more than 3 x the step noise fails

[behaviour]
max_negative_flip_rate = 0.02

[slices]
by = "region"
max_drop = 0.05

[drift]
max_share = 0.5
"""


@dataclass(frozen=True)
class DemoResult:
    """What :func:`build_demo` made."""

    path: Path
    store: Path
    report: Path
    versions: int
    culprit: str | None


def _month_data(
    rng: np.random.Generator, month: int, n: int, *, shifted: bool = False
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Transactions of one month: features, fraud labels, region of each row."""
    regions = np.where(rng.random(n) < 0.06, RARE, "south")
    X = rng.normal(size=(n, len(FEATURES)))  # noqa: N806
    X[:, 0] += 0.05 * month  # amounts creep up over the year
    if shifted:  # a new merchant category: larger, faster transactions, same fraud logic
        X[:, 0] += 1.2
        X[:, 3] = 1.8 * X[:, 3] + 0.5
    north = regions == RARE
    X[north, 2] += 0.8  # the rare region's merchants are riskier
    weights = np.array([1.2, -0.4, 1.5, 1.0, 0.6, -0.8, 0.3])
    logits = X @ weights - 1.0 + 0.9 * north * X[:, 4]
    y = (rng.random(n) < 1 / (1 + np.exp(-logits))).astype(np.int64)
    return X, y, regions


def _train(
    weights: np.ndarray[Any, Any],
    X: np.ndarray[Any, Any],  # noqa: N803
    y: np.ndarray[Any, Any],
    lr: float,
    epochs: int,
    fraud_weight: float = 1.0,
) -> np.ndarray[Any, Any]:
    """Logistic regression (with bias), warm-started from ``weights``, full-batch GD;
    ``fraud_weight`` weighs the fraud class in the loss."""
    Xb = np.hstack([X, np.ones((len(X), 1))])  # noqa: N806
    sample = np.where(y == 1, fraud_weight, 1.0)
    w: np.ndarray[Any, Any] = weights.copy()
    for _ in range(epochs):
        p = 1 / (1 + np.exp(-(Xb @ w)))
        w -= lr * Xb.T @ (sample * (p - y)) / sample.sum()
    return w


def _scores(w: np.ndarray[Any, Any], X: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:  # noqa: N803
    scores: np.ndarray[Any, Any] = 1 / (1 + np.exp(-(np.hstack([X, np.ones((len(X), 1))]) @ w)))
    return scores


def _metrics(
    w: np.ndarray[Any, Any],
    X: np.ndarray[Any, Any],  # noqa: N803
    y: np.ndarray[Any, Any],
    regions: np.ndarray[Any, Any],
) -> dict[str, float]:
    p = _scores(w, X)
    pred = p >= 0.5
    tp = float(np.sum(pred & (y == 1)))
    precision = tp / max(float(pred.sum()), 1.0)
    recall = tp / max(float((y == 1).sum()), 1.0)
    order = np.argsort(p)
    ranks = np.empty(len(p))
    ranks[order] = np.arange(1, len(p) + 1)
    positives = y == 1
    auc = (ranks[positives].sum() - positives.sum() * (positives.sum() + 1) / 2) / max(
        float(positives.sum() * (~positives).sum()), 1.0
    )
    north = regions == RARE
    return {
        "accuracy": round(float(np.mean(pred == y)), 4),
        "f1": round(2 * precision * recall / max(precision + recall, 1e-12), 4),
        "auc": round(float(auc), 4),
        "accuracy_north": round(float(np.mean(pred[north] == y[north])), 4),
    }


def _snapshot(X: np.ndarray[Any, Any], y: np.ndarray[Any, Any], path: str) -> DataSnapshot:  # noqa: N803
    """The training data by content hash, with a profile (named columns) for drift."""
    from mlineage.analysis import DataProfile
    from mlineage.records import DataSnapshot

    profile = DataProfile.from_array(X, y, columns=list(FEATURES), label_name="fraud")
    return DataSnapshot.from_array(X, y, path=path).with_profile(profile)


def _fingerprint(probe: ProbeSet, w: np.ndarray[Any, Any]) -> Fingerprint:
    """The model's behaviour on the fixed probe set: scores, and per-feature contributions
    as its representation."""
    return probe.evaluate(
        predict_proba=lambda x: _scores(w, x),
        embed=lambda x: np.asarray(x) * w[:-1],
    )


def build_demo(
    path: str | Path = "mlineage-demo", *, force: bool = False, report: bool = True
) -> DemoResult:
    """Build the demo store (and report) in ``path``; see the module docstring.

    Parameters
    ----------
    path : path-like
        A new or empty directory (``./mlineage-demo`` by default): the store goes to
        ``path/store``, checkpoints to ``path/checkpoints``, the report to
        ``path/lineage.html``.
    force : bool
        Replace what an earlier demo left in ``path``.
    report : bool
        Write the HTML report.

    Raises
    ------
    InvalidInput
        If ``path`` exists and is not empty (without ``force``), or is a file.
    StoreFull, StoreReadOnly, PermissionDenied
        If the disk fills up, or ``path`` may not be written; the message names ``path``.
    """
    root = Path(path)
    if root.exists() and not root.is_dir():
        raise InvalidInput(f"{root} is a file; give the demo a directory")
    if root.exists() and any(root.iterdir()) and not force:
        raise InvalidInput(
            f"{root} is not empty; pass --force to replace the earlier demo, or another path"
        )
    # Checkpoints and the report are files outside the store: a full disk or a read-only
    # file system gets the store's typed errors for them too.
    with map_os_errors(root, "write the demo to"):
        for name in ("store", "checkpoints", "lineage.html", "gate.toml"):
            target = root / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
        return _build(root, report)


def _build(root: Path, report: bool) -> DemoResult:
    import mlineage as ml
    from mlineage.analysis import ProbeSet

    (root / "checkpoints").mkdir(parents=True, exist_ok=True)
    store = root / "store"
    tracker = ml.Tracker(DEMO_MODEL, storage=str(store))
    rng = np.random.default_rng(20240101)
    X_test, y_test, regions_test = _month_data(rng, 6, 4000)  # noqa: N806
    weights = np.zeros(len(FEATURES) + 1)
    probe = ProbeSet(
        X_test[:1500], y_test[:1500], groups=regions_test[:1500], name="holdout", group_by="region"
    )
    by_month: dict[int, ml.ModelVersion] = {}
    trained: dict[int, np.ndarray[Any, Any]] = {}
    fine_tune: ml.ModelVersion | None = None
    for month, label in enumerate(MONTHS):
        X, y, regions = _month_data(rng, month, 6000, shifted=month == SHIFTED)  # noqa: N806
        notes = f"Monthly update with {label.capitalize()} 2024 transactions"
        tags = [f"{label}-2024"]
        lr, epochs = 0.5, 60
        train_y = y
        if month == CORRUPTED:  # the new labelling vendor marks most fraud as legitimate
            train_y = np.where((y == 1) & (rng.random(len(y)) < 0.45), 0, y)
            notes += " (new labelling vendor)"
        fraud_weight = 1.0
        if month == SHIFTED:  # and the team reweights fraud to catch more of it
            fraud_weight = 1.6
            notes += " (new merchant category onboarded; fraud reweighted x1.6)"
        if month == SHIFTED + 1:
            notes += " (fraud weight back to 1.0)"
        # After May's rollback, June trains on from April's weights.
        base = trained[CORRUPTED - 1] if month == CORRUPTED + 1 else weights
        weights = _train(base, X, train_y, lr, epochs, fraud_weight)
        trained[month] = weights
        checkpoint = root / "checkpoints" / f"model_2024_{month + 1:02d}.npy"
        np.save(checkpoint, weights)
        parents: list[Any] | None = [by_month[month - 1]] if month else None
        kind = None
        if month == 7 and fine_tune is not None:  # August merges the fine-tune back
            parents = [by_month[6], fine_tune]
            kind = "merge"
            notes += "; merges the north fine-tune"
        with tracker.log_version(
            parents=parents,
            kind=kind,
            timestamp=datetime(2024, month + 1, 28, 12, tzinfo=timezone.utc),
        ) as v:
            v.model_path = str(checkpoint)
            v.dataset = _snapshot(X, train_y, f"s3://fraud-data/2024/{label}/")
            v.fingerprint = _fingerprint(probe, weights)
            # Each month is scored on that month's fresh holdout: realistic noise.
            v.metrics = _metrics(weights, *_month_data(rng, month, 3000))
            v.hyperparameters = {
                "lr": lr,
                "epochs": epochs,
                "warm_start": month > 0,
                "fraud_weight": fraud_weight,
            }
            v.notes = notes
            v.tags = tags
            v.name = f"fraud-2024-{month + 1:02d}"
        by_month[month] = v.version
        if month == 5:  # June: a fine-tune for the rare region, on a branch
            north = regions == RARE
            tuned = _train(weights, X[north], y[north], 0.3, 40)
            checkpoint = root / "checkpoints" / "model_2024_06_north.npy"
            np.save(checkpoint, tuned)
            fine_tune = tracker.log(
                parent=v.version,
                kind="fine_tune",
                timestamp=datetime(2024, 7, 10, 12, tzinfo=timezone.utc),
                model_path=str(checkpoint),
                dataset=_snapshot(X[north], y[north], "s3://fraud-data/2024/jun/north/"),
                fingerprint=_fingerprint(probe, tuned),
                metrics=_metrics(tuned, *_month_data(rng, month, 3000)),
                hyperparameters={"lr": 0.3, "epochs": 40, "region": RARE},
                notes="Fine-tune for the north region",
                tags=["fine-tune", RARE],
                name="fraud-2024-06-north",
            )
    _move_production(tracker, by_month)
    _gated_promotions(tracker, root / "gate.toml")
    culprit = tracker.blame("accuracy")
    report_path = root / "lineage.html"
    if report:
        tracker.report(report_path, metric="accuracy")
    return DemoResult(
        path=root,
        store=store,
        report=report_path,
        versions=len(tracker),
        culprit=None if culprit is None else culprit.name,
    )


def _move_production(tracker: Tracker, by_month: dict[int, Any]) -> None:
    """March, then May (rolled back to April a week later), then October."""
    tracker.set_alias("production", by_month[2], at="2024-04-01T09:00:00+00:00")
    tracker.set_alias("production", by_month[CORRUPTED], at="2024-06-01T09:00:00+00:00")
    before = by_month[CORRUPTED - 1].metrics["accuracy"]
    after = by_month[CORRUPTED].metrics["accuracy"]
    reason = f"accuracy fell from {before:.3f} to {after:.3f} in production"
    tracker.set_status(by_month[CORRUPTED], "rolled_back", reason=reason)
    tracker.annotate(
        by_month[CORRUPTED],
        notes="Rolled back: the new labelling vendor flipped a third of the labels",
        tags=["incident", "label-noise"],
    )
    tracker.set_alias("production", by_month[CORRUPTED - 1], at="2024-06-08T09:00:00+00:00")
    tracker.set_alias("production", by_month[9], at="2024-11-01T09:00:00+00:00")


def _gated_promotions(tracker: Tracker, policy_file: Path) -> None:
    """Promotions through the gate: May's update is refused, December's passes."""
    policy_file.write_text(GATE_POLICY)
    tracker.promote(f"fraud-2024-{CORRUPTED + 1:02d}", policy=policy_file)
    tracker.promote("fraud-2024-12", policy=policy_file)
