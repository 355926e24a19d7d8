"""Write the test store of the current record format: ``tests/data/store-format-<N>``.

Run once by the release that introduces a format (CONTRIBUTING: "Changing the record
format"), never to regenerate an older one. The store holds what the format tests check:
three versions of ``fraud-detector`` (two packed, one loose), directory datasets with
manifests, archived checkpoints, a captured environment, an alias, an annotation, and the
fields the format added (for format 3: a snapshot's ``record_count``, ``schema_version``,
``notes``, ``metadata``, ``created_at``; a version's ``committed_at``).

    python scripts/make_format_store.py tests/data/store-format-3
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import mlineage as ml
from mlineage.codec import FORMAT


def main(target: Path) -> None:
    if target.exists():
        sys.exit(f"{target} exists; a released format's test store is never regenerated")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data = work / "data"
        data.mkdir()
        tracker = ml.Tracker("fraud-detector", storage=str(target), archive=True)
        accuracy = {1: 0.91, 2: 0.93, 3: 0.88}
        for month in (1, 2, 3):
            (data / f"part-{month}.csv").write_text(f"id,amount\n{month},{month * 10}\n")
            model = work / f"fraud_v{month}.pt"
            model.write_bytes(bytes([month]) * 64)
            snapshot = ml.DataSnapshot.from_path(data, notes=f"transactions up to month {month}")
            snapshot = snapshot.model_copy(
                update={
                    "num_rows": 1000 * month,
                    "schema_version": "2",
                    "metadata": {"source": "kafka", "month": month},
                }
            )
            tracker.log(
                model_path=str(model),
                dataset=snapshot,
                metrics={"accuracy": accuracy[month]},
                hyperparameters={"lr": 1e-3 / month},
                name=f"fraud-v{month}",
                timestamp=f"2024-0{month}-01T00:00:00+00:00",
                notes=f"monthly update {month}",
            )
            if month == 2:
                tracker.set_alias("production", "fraud-v2", at="2024-02-02T00:00:00+00:00")
                tracker.compact()
        tracker.annotate("fraud-v3", notes="label leak in March data", tags=["incident"])
    print(f"wrote a format-{FORMAT} store at {target}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
