"""Write the test store of the current record format: ``tests/data/store-format-<N>``.

Run once by the release that introduces a format (CONTRIBUTING: "Changing the record
format"), never to regenerate an older one. The store holds what the format tests check:
three versions of ``fraud-detector`` (two packed, one loose), directory datasets with
manifests, archived checkpoints, a captured environment, an alias, an annotation, and the
fields the format added (for format 3: a snapshot's ``record_count``, ``schema_version``,
``notes``, ``metadata``, ``created_at``; a version's ``committed_at``; for format 4: each
version's ``origin`` (in a pack's ``origins`` column and in a loose record), evidence
events with JSON payloads (one packed, one loose), and alias logs written by
compare-and-set moves, one citing evidence and forced with a reason; for format 5: each
pack's table line, the fields ``to_pandas()`` shows besides the index).

    python scripts/make_format_store.py tests/data/store-format-5
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
                origin=ml.Origin(
                    system="mlflow",
                    id=f"run-{month}",
                    uri=f"runs:/run-{month}/model",
                    imported_at=f"2024-0{month}-01T01:00:00+00:00",
                    extra={"experiment": "fraud"},
                ),
            )
            if month == 1:
                tracker.attach_evidence(
                    "fraud-v1",
                    "evidently",
                    {"metrics": [{"metric": "DriftedColumnsCount", "value": {"share": 0.5}}]},
                    {"drift_share": 0.5, "drifted": ["amount"]},
                    tool="evidently",
                    tool_version="0.7.4",
                )
            if month == 2:
                tracker.set_alias(
                    "production", "fraud-v2", at="2024-02-02T00:00:00+00:00", expect=ml.ABSENT
                )
                tracker.set_alias(
                    "production", "fraud-v1", at="2024-02-15T00:00:00+00:00", expect="fraud-v2"
                )
                tracker.set_alias(
                    "production", "fraud-v2", at="2024-02-20T00:00:00+00:00", expect="fraud-v1"
                )
                tracker.compact()
        tracker.annotate("fraud-v3", notes="label leak in March data", tags=["incident"])
        verdict = tracker.attach_evidence(
            "fraud-v3",
            "gate",
            '{"passed": false, "rules": [{"rule": "accuracy", "delta": -0.05}]}',
            {"passed": False, "against": "fraud-v2"},
        )
        tracker.set_alias(
            "staging",
            "fraud-v3",
            at="2024-03-02T00:00:00+00:00",
            expect=ml.ABSENT,
            evidence=verdict,
            forced=True,
            reason="staging may run a refused candidate",
        )
    print(f"wrote a format-{FORMAT} store at {target}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
