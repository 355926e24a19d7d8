"""The prototype's example, unmodified: three monthly updates of a fraud model.

Written against the prototype's API (``mlineage.core``), which mlineage keeps working:
``DataSnapshot(record_count=..., notes=...)``, ``print(tracker.summary())``,
``tracker.blame(...)`` and ``tracker._graph.ancestors(...)``. Run it from any directory;
it writes its store to ``./lineage_store``.
"""

from mlineage.core.models import DataSnapshot
from mlineage.core.tracker import Tracker


def main() -> None:
    tracker = Tracker("fraud-detector", storage="./lineage_store")

    # January: the first model.
    with tracker.log_version() as v:
        v.model_path = "./checkpoints/model_jan.pt"
        v.dataset = DataSnapshot(
            path="./data/jan_2024/",
            hash="sha256:" + "a" * 64,
            record_count=120_000,
            notes="January transactions",
        )
        v.metrics = {"accuracy": 0.94, "f1": 0.91}
        v.hyperparameters = {"lr": 1e-3, "epochs": 10}
        v.notes = "Initial model on January data"

    # February: new fraud patterns, accuracy drops.
    with tracker.log_version() as v:
        v.model_path = "./checkpoints/model_feb.pt"
        v.dataset = DataSnapshot(
            path="./data/feb_2024/",
            hash="sha256:" + "b" * 64,
            record_count=95_000,
            notes="February transactions (holiday season fraud spike)",
        )
        v.metrics = {"accuracy": 0.89, "f1": 0.85}
        v.hyperparameters = {"lr": 1e-3, "epochs": 10}
        v.notes = "Monthly update with February fraud patterns"

    # March: retrained with a lower learning rate, recovers.
    with tracker.log_version() as v:
        v.model_path = "./checkpoints/model_mar.pt"
        v.dataset = DataSnapshot(
            path="./data/mar_2024/",
            hash="sha256:" + "c" * 64,
            record_count=130_000,
            notes="March transactions",
        )
        v.metrics = {"accuracy": 0.93, "f1": 0.90}
        v.hyperparameters = {"lr": 5e-4, "epochs": 12}
        v.notes = "Lower learning rate"

    print(tracker.summary())

    culprit = tracker.blame(metric="accuracy", direction="decrease")
    print(f"Blamed version: {culprit.id[:8]}")
    print(f"  notes:   {culprit.notes}")
    print(f"  dataset: {culprit.dataset}")
    print(f"  records: {culprit.dataset.record_count}")

    latest = tracker.latest()
    ancestors = tracker._graph.ancestors(latest.id)
    print(f"Ancestors of the latest version: {len(ancestors)}")
    for version in ancestors:
        print(f"  {version}")


if __name__ == "__main__":
    main()
