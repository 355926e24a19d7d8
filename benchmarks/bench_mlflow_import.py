"""Importing an MLflow experiment, side by side with MLflow's own reads of the same runs.

    python benchmarks/bench_mlflow_import.py            # 1,000 runs
    python benchmarks/bench_mlflow_import.py --quick    # 20 runs, for CI smoke runs

The experiment lives in a sqlite tracking store (no server). Each run has 5 params and 3
metrics with 10 steps of history. MLflow's side is what any reader of those runs pays:
``search_runs`` over the experiment plus ``get_metric_history`` for every metric of every
run. mlineage's side is ``connectors.mlflow.import_runs`` into a fresh local store (every
version written durably), without and with ``metric_history=True`` (which adds those
same history reads and one evidence blob per run), then a second, idempotent import. Each
version is written durably (files and directories fsynced: four fsyncs per version with
its name claim); the last row imports into a store opened with ``durable=False`` to show
how much of the cost is the disk's flush rather than reading and mapping.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
import warnings
from pathlib import Path

import mlineage as ml
from mlineage.connectors import ImportSummary
from mlineage.connectors import mlflow as connector
from mlineage.storage import LocalStore


def build(uri: str, runs: int) -> str:
    """An experiment of ``runs`` finished runs; returns its id."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param

    client = MlflowClient(uri)
    experiment = client.create_experiment("bench")
    start = int(time.time() * 1000) - runs * 1000
    for i in range(runs):
        run = client.create_run(experiment, start_time=start + i * 1000, run_name=f"run-{i}")
        run_id = run.info.run_id
        params = [
            Param(p, str(v))
            for p, v in [
                ("lr", 0.001 * (i % 7 + 1)),
                ("epochs", 10),
                ("batch", 64),
                ("optimizer", "adam"),
                ("dropout", 0.1),
            ]
        ]
        metrics = [
            Metric(name, 0.5 + step / 20 + i / (10 * runs), start + i * 1000 + step, step)
            for name in ("acc", "f1", "loss")
            for step in range(10)
        ]
        client.log_batch(run_id, metrics=metrics, params=params)
        client.set_terminated(run_id, "FINISHED", end_time=start + i * 1000 + 900)
    return str(experiment)


def mlflow_reads(uri: str, experiment: str) -> int:
    """What MLflow itself costs to read the runs and their metric histories."""
    from mlflow import MlflowClient

    client = MlflowClient(uri)
    token, points = None, 0
    while True:
        page = client.search_runs([experiment], max_results=1000, page_token=token)
        for run in page:
            for key in run.data.metrics:
                points += len(client.get_metric_history(run.info.run_id, key))
        token = page.token
        if not token:
            return points


def timed(fn: object) -> float:
    start = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="20 runs instead of 1,000")
    parser.add_argument("--runs", type=int, default=None)
    args = parser.parse_args()
    runs = args.runs or (20 if args.quick else 1000)
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory(prefix="mlineage-bench-mlflow-") as tmp:
        work = Path(tmp)
        uri = f"sqlite:///{work / 'mlflow.db'}"
        start = time.perf_counter()
        experiment = build(uri, runs)
        built = time.perf_counter() - start
        mlflow_reads(uri, experiment)  # warm the file cache and MLflow's imports
        baseline = min(timed(lambda: mlflow_reads(uri, experiment)) for _ in range(3))

        def load(name: str, history: bool, durable: bool = True) -> ImportSummary:
            store = LocalStore(work / "store", durable=durable)
            tracker = ml.Tracker(name, storage=store, capture_environment=False)
            return connector.import_runs(tracker, "bench", uri, metric_history=history)

        plain = timed(lambda: load("plain", False))
        history = timed(lambda: load("history", True))
        again = timed(lambda: load("plain", False))
        no_fsync = timed(lambda: load("no-fsync", False, durable=False))

    rows = [
        ("building it with MlflowClient", built, None),
        ("MLflow: search_runs + get_metric_history", baseline, baseline),
        ("mlineage import_runs", plain, baseline),
        ("mlineage import_runs(metric_history=True)", history, baseline),
        (f"second import (all {runs:,} skipped)", again, baseline),
        ("import_runs into a store without fsync", no_fsync, baseline),
    ]
    print(f"MLflow experiment of {runs:,} runs (3 metrics x 10 steps, 5 params), sqlite")
    for label, seconds, base in rows:
        ratio = "" if base is None else f"({seconds / base:.2f}x)"
        print(f"  {label:<46}{seconds:8.2f} s   {ratio}")


if __name__ == "__main__":
    main()
