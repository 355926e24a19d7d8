"""Build a small demo lineage, write its HTML report and screenshot it for the docs.

The demo store (in a temporary directory) has weekly updates of a fraud model on a main
line, a fine-tune branch merged back, a distillation branch, a regression that blame
finds, a rollback, aliases that moved, an annotation and a deprecation. The report is
opened in headless Chromium (Debian's ``/usr/bin/chromium`` or ``$MLINEAGE_CHROMIUM``)
through Playwright, the regression is selected and compared with its parent, and the page
is saved as ``docs/img/report.png``.

Usage::

    python scripts/screenshot_report.py [--out docs/img/report.png] [--html report.html]
                                        [--dark]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import mlineage as ml
from mlineage.report import write_report

ROOT = Path(__file__).resolve().parents[1]
START = datetime(2024, 1, 1, 9, 0, tzinfo=timezone.utc)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def build_demo(directory: Path) -> ml.Tracker:
    """Log the demo lineage into a store in ``directory`` and return its tracker.

    Checkpoints are small files written there, so versions carry real checkpoint hashes;
    the environment is this process's.
    """
    rng = random.Random(7)
    tracker = ml.Tracker("fraud-detector", storage=str(directory / "store"))

    def checkpoint(name: str) -> str:
        path = directory / "checkpoints" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(f"weights of {name}".encode())
        return str(path)

    acc, f1, loss = 0.900, 0.860, 0.310
    lr = 1e-3
    by_week: dict[int, ml.ModelVersion] = {}
    for week in range(30):
        when = START + timedelta(weeks=week)
        notes = f"Weekly refresh with transactions of week {week + 1}"
        if week == 18:  # the regression: a higher learning rate and a new data source
            lr, acc, f1, loss = 3e-3, acc - 0.045, f1 - 0.06, loss + 0.09
            notes = "Raised the learning rate; added the partner-bank feed"
        elif week == 20:  # back to the old settings
            lr, acc, f1, loss = 1e-3, acc + 0.04, f1 + 0.05, loss - 0.08
            notes = "Rolled back to lr=1e-3 after the week-19 incident"
        else:
            acc += rng.uniform(-0.004, 0.006)
            f1 += rng.uniform(-0.005, 0.007)
            loss -= rng.uniform(-0.003, 0.005)
        by_week[week] = tracker.log(
            timestamp=when,
            kind="rollback" if week == 20 else None,
            parent=by_week.get(week - 1),
            name=f"fraud-w{week + 1:02d}",
            model_path=checkpoint(f"fraud_w{week + 1:02d}.pt"),
            dataset=ml.DataSnapshot(
                path=f"s3-data/transactions/2024-w{week + 1:02d}/",
                hash=f"sha256:{rng.getrandbits(128):032x}",
                num_rows=120_000 + 2_500 * week,
            ),
            metrics={
                "accuracy": round(acc, 4),
                "f1": round(f1, 4),
                "loss": round(loss, 4),
                "latency_ms": round(rng.uniform(11, 14) + (4 if week in (18, 19) else 0), 2),
            },
            hyperparameters={"lr": lr, "batch_size": 256, "layers": [128, 64]},
            notes=notes,
            tags=["weekly"] + (["partner-feed"] if week in (18, 19) else []),
        )
        if week == 8:  # a fine-tune branch on chargeback data, merged back at week 12
            parent = by_week[8]
            for step in range(3):
                parent = tracker.log(
                    parent=parent,
                    kind="fine_tune",
                    timestamp=when + timedelta(days=1 + 2 * step),
                    name=f"fraud-chargeback-ft{step + 1}",
                    model_path=checkpoint(f"fraud_ft{step + 1}.pt"),
                    dataset=ml.DataSnapshot(
                        path="s3-data/chargebacks/2024-q1/", hash=f"sha256:ft{step}"
                    ),
                    metrics={"accuracy": round(acc + 0.004 * (step + 1), 4), "f1": round(f1, 4)},
                    hyperparameters={"lr": 1e-4, "batch_size": 64, "layers": [128, 64]},
                    notes="Fine-tuning on confirmed chargebacks",
                    tags=["chargebacks"],
                )
            ft_tip = parent
        if week == 12:
            acc += 0.006
            by_week[week] = tracker.log(
                parents=[by_week[12], ft_tip],
                kind="merge",
                timestamp=when + timedelta(days=2),
                name="fraud-w13-merged",
                model_path=checkpoint("fraud_w13_merged.pt"),
                dataset=ml.DataSnapshot(path="s3-data/transactions/2024-w13/", hash="sha256:m13"),
                metrics={"accuracy": round(acc, 4), "f1": round(f1 + 0.004, 4)},
                hyperparameters={"lr": lr, "batch_size": 256, "layers": [128, 64]},
                notes="Weight-averaged the chargeback fine-tune into the main model",
            )
        if week == 24:  # a distilled model for the mobile app, not merged
            small = tracker.log(
                parent=by_week[24],
                kind="distill",
                timestamp=when + timedelta(days=3),
                name="fraud-mobile-v1",
                model_path=checkpoint("fraud_mobile_v1.onnx"),
                dataset=by_week[24].dataset,
                metrics={"accuracy": round(acc - 0.012, 4), "latency_ms": 3.1},
                hyperparameters={"teacher": "fraud-w25", "layers": [32], "temperature": 2.0},
                notes="Distilled for on-device scoring",
                tags=["mobile"],
            )
            tracker.log(
                parent=small,
                timestamp=when + timedelta(days=6),
                name="fraud-mobile-v2",
                model_path=checkpoint("fraud_mobile_v2.onnx"),
                dataset=by_week[24].dataset,
                metrics={"accuracy": round(acc - 0.009, 4), "latency_ms": 2.8},
                hyperparameters={"teacher": "fraud-w25", "layers": [32], "temperature": 1.5},
                notes="Longer distillation",
                tags=["mobile"],
            )
    for week in (3, 9, 14, 18, 20, 26):
        tracker.set_alias("production", by_week[week], at=START + timedelta(weeks=week, days=1))
    tracker.set_alias("staging", by_week[29], at=START + timedelta(weeks=29, hours=2))
    tracker.annotate(
        by_week[18],
        notes="Incident 7: false positives doubled on partner-bank cards",
        tags=["incident-7"],
    )
    tracker.set_status(by_week[18], "deprecated", reason="incident 7")
    return tracker


def main(argv: list[str] | None = None) -> int:
    """Build the demo, write the report and take the screenshot."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img" / "report.png")
    parser.add_argument("--html", type=Path, help="also keep the report at this path")
    parser.add_argument("--dark", action="store_true", help="prefers-color-scheme: dark")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    chromium = os.environ.get("MLINEAGE_CHROMIUM", "/usr/bin/chromium")
    with tempfile.TemporaryDirectory() as tmp:
        tracker = build_demo(Path(tmp))
        report = write_report(
            tracker,
            args.html or Path(tmp) / "report.html",
            title="fraud-detector lineage",
            metric="accuracy",
        )
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(
                viewport={"width": 1400, "height": 1000},
                color_scheme="dark" if args.dark else "light",
                device_scale_factor=1,
            )
            page.goto(report.as_uri())
            page.wait_for_selector("html[data-ready='true']")
            page.click(".row[data-id] >> text=fraud-w19")
            page.click("text=Compare with parent")
            page.evaluate("window.scrollTo(0, 0)")
            args.out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(args.out), full_page=True)
            browser.close()
    print(f"wrote {args.out}" + (f" and {report}" if args.html else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
