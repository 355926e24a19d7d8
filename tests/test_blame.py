"""Blame: the culprit is the worst step in the bad direction, with evidence."""

from __future__ import annotations

import itertools
import random
import statistics
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mlineage as ml
from mlineage.blame import blame_steps, robust_scale

_counter = itertools.count()


def tracker_with(values: list[float | None], metric: str = "accuracy") -> ml.Tracker:
    tracker = ml.Tracker("m", storage=f"memory://blame-{next(_counter)}")
    for i, value in enumerate(values):
        tracker.log(
            model_path=f"{i}.pt",
            dataset=ml.DataSnapshot(path=f"data/{i}", hash=f"sha256:{i}"),
            metrics={} if value is None else {metric: value},
            hyperparameters={"lr": 0.001 * (i + 1)},
            notes=f"update {i}",
        )
    return tracker


def brute_force(values: list[float | None], direction: str) -> int | None:
    measured = [(i, v) for i, v in enumerate(values) if v is not None]
    best, best_index = 0.0, None
    for (_, before), (j, after) in itertools.pairwise(measured):
        bad = (before - after) if direction == "decrease" else (after - before)
        if bad > best:
            best, best_index = bad, j
    return best_index


def test_decrease_finds_the_falling_step_not_a_rising_one() -> None:
    tracker = tracker_with([0.90, 0.95, 0.97, 0.91, 0.92])
    culprit = tracker.blame(metric="accuracy", direction="decrease")
    assert culprit is not None
    assert culprit.notes == "update 3"
    assert culprit.hyperparameters == {"lr": 0.004}


def test_increase_for_loss_like_metrics() -> None:
    tracker = tracker_with([0.30, 0.28, 0.41, 0.40], metric="loss")
    culprit = tracker.blame(metric="loss", direction="increase")
    assert culprit is not None and culprit.notes == "update 2"


def test_none_when_nothing_moved_the_bad_way_or_too_short() -> None:
    assert tracker_with([0.90, 0.91, 0.95]).blame("accuracy") is None
    assert tracker_with([0.90]).blame("accuracy") is None
    assert tracker_with([]).blame("accuracy") is None
    assert tracker_with([0.9, 0.9, 0.9]).blame("accuracy") is None
    assert tracker_with([0.9, 0.8]).blame("f1") is None


def test_bad_direction_is_refused() -> None:
    with pytest.raises(ml.InvalidInput, match="direction"):
        tracker_with([0.9, 0.8]).blame("accuracy", direction="down")  # type: ignore[arg-type]


def test_blame_follows_the_history_of_on() -> None:
    tracker = tracker_with([0.90, 0.80])
    root = tracker.roots()[0]
    branch = tracker.log(
        parent=root,
        model_path="b.pt",
        dataset=ml.DataSnapshot(hash="b"),
        metrics={"accuracy": 0.95},
    )
    assert tracker.blame("accuracy") is None  # latest is the branch: 0.90 -> 0.95
    culprit = tracker.blame("accuracy", on=tracker.history(tracker.versions()[1])[0])
    assert culprit is not None and culprit.notes == "update 1"
    assert branch.parents == (root.id,)


def test_report_ranks_every_step_with_evidence() -> None:
    tracker = tracker_with([0.90, 0.91, 0.905, 0.80, None, 0.81])
    report = tracker.blame_report("accuracy", "decrease")
    assert len(report.steps) == 4
    assert next(s.version.notes for s in report.steps) == "update 3"
    worst = report.steps[0]
    assert worst.delta == pytest.approx(-0.105)
    assert worst.bad_amount == pytest.approx(0.105)
    deltas = [0.01, -0.005, -0.105, 0.01]
    scale = 1.4826 * statistics.median(abs(d - statistics.median(deltas)) for d in deltas)
    assert report.scale == pytest.approx(scale)
    assert worst.score == pytest.approx(0.105 / scale)
    assert worst.changes is not None
    assert worst.changes.dataset_changed
    assert worst.changes.hyperparameters.changed == {"lr": (0.003, 0.004)}
    last = next(s for s in report.steps if s.version.notes == "update 5")
    assert len(last.unmeasured) == 1  # update 4 has no accuracy
    assert last.previous.notes == "update 3"
    assert report.culprit == worst.version
    text = str(report)
    assert "update 3" not in text or "blame accuracy" in text
    assert report.to_dict()["culprit"] == worst.version.id
    assert [s.bad_amount for s in report.steps] == sorted(
        (s.bad_amount for s in report.steps), reverse=True
    )


def test_robust_scale_needs_three_steps() -> None:
    assert robust_scale([0.1, 0.2]) is None
    assert robust_scale([0.0, 0.0, 0.0, 0.5]) is None
    assert robust_scale([1.0, 2.0, 4.0]) == pytest.approx(1.4826)


values_strategy = st.lists(
    st.one_of(st.none(), st.sampled_from([0.5, 0.6, 0.7, 0.8, 0.9]), st.floats(0, 1)),
    max_size=25,
)


@settings(max_examples=80, deadline=None)
@given(values_strategy, st.sampled_from(["decrease", "increase"]))
def test_blame_agrees_with_brute_force(values: list[float | None], direction: str) -> None:
    tracker = tracker_with(values)
    expected = brute_force(values, direction)
    culprit = tracker.blame("accuracy", direction)  # type: ignore[arg-type]
    report = tracker.blame_report("accuracy", direction)  # type: ignore[arg-type]
    if expected is None:
        assert culprit is None
        assert report.culprit is None
    else:
        assert culprit is not None
        assert culprit.notes == f"update {expected}"
        assert report.culprit == culprit


@settings(max_examples=60, deadline=None)
@given(values_strategy, st.sampled_from(["decrease", "increase"]))
def test_ranked_report_equals_the_records_ranking(
    values: list[float | None], direction: str
) -> None:
    """tracker.blame_report ranks in numpy and makes steps when looked at: the same steps,
    order, scores, gaps and skipped versions as blame_steps over the decoded records."""
    tracker = tracker_with(values)
    report = tracker.blame_report("accuracy", direction)  # type: ignore[arg-type]
    same = blame_steps(tracker.history()[::-1], "accuracy", direction)  # type: ignore[arg-type]
    assert report == same  # every field of every step, in order
    assert (report.scale, report.skipped, len(report.steps)) == (
        same.scale,
        same.skipped,
        len(same.steps),
    )
    assert [s.unmeasured for s in report.steps] == [s.unmeasured for s in same.steps]
    assert report.steps[-1:] == same.steps[-1:] and list(report.steps[::2]) == list(same.steps[::2])
    if same.steps:
        assert report.steps[-1] == same.steps[-1]
    with pytest.raises(IndexError):
        report.steps[len(same.steps)]


def test_the_worst_steps_of_a_long_history_rank_as_a_full_sort_does() -> None:
    """Past a few hundred steps the first ranks come from a partial sort; with many tied
    steps (values on a coarse grid) they must still be the stable sort's: ties, older first."""
    rng = random.Random(7)
    values: list[float | None] = [
        None if i % 17 == 5 else rng.choice([0.8, 0.85, 0.9]) for i in range(400)
    ]
    tracker = tracker_with(values)
    for direction in ("decrease", "increase"):
        report = tracker.blame_report("accuracy", direction)  # type: ignore[arg-type]
        same = blame_steps(tracker.history()[::-1], "accuracy", direction)  # type: ignore[arg-type]
        assert report.steps[:20] == same.steps[:20]  # the partial sort (str() shows these)
        assert report.steps[100] == same.steps[100]  # past it: the full sort
        assert report == same


def test_report_on_a_packed_history_reads_only_the_steps_looked_at(tmp_path: Path) -> None:
    from mlineage.records import is_lazy

    store = str(tmp_path / "s")
    tracker = ml.Tracker("m", storage=store, capture_environment=False)
    for i in range(60):
        tracker.log(
            model_path=f"{i}.pt",
            dataset=ml.DataSnapshot(hash=f"h{i}"),
            metrics={"acc": 0.9 - (0.05 if i == 41 else 0.0) + 0.001 * (i % 3)},
            hyperparameters={"lr": 0.1 if i == 41 else 0.01},
        )
    tracker.compact()
    loaded = ml.Tracker.load("m", storage=store)
    report = loaded.blame_report("acc")
    assert len(report.steps) == 59
    assert sum(is_lazy(v) for v in loaded.versions()) == 60  # ranking read no record
    assert report.culprit is not None and report.culprit.id == loaded.versions()[41].id
    text = report.text(limit=3)
    assert "lr: 0.01 -> 0.1" in text and "... 56 more steps" in text
    # read: the three versions shown (their names) and the culprit's parent (its diff)
    assert sum(is_lazy(v) for v in loaded.versions()) == 56
    assert report.to_dict(limit=2)["total_steps"] == 59
    assert len(report.to_dict(limit=2)["steps"]) == 2
    eager = ml.Tracker("m", storage=store)
    eager_history = eager.history()[::-1]
    for version in eager_history:
        _ = version.notes  # decoded: blame_steps over records gives the same ranking
    same = blame_steps(eager_history, "acc", "decrease")
    assert [(s.version.id, s.delta) for s in same.steps] == [
        (s.version.id, s.delta) for s in report.steps
    ]


def test_str_shows_the_worst_steps_of_a_long_history() -> None:
    tracker = ml.Tracker("long", storage="memory://blame-long-str", capture_environment=False)
    for i in range(60):
        tracker.log(
            model_path=f"{i}.pt",
            dataset=ml.DataSnapshot(hash=f"sha256:{i}"),
            metrics={"acc": 0.9 - (0.05 if i == 41 else 0.0) + i * 1e-4},
        )
    report = tracker.blame_report("acc")
    text = str(report)
    assert len(text.splitlines()) < 40 and text.endswith("... 39 more steps")
    assert report.culprit is not None and report.culprit.short_id in text
    assert "\n 59. " in report.text(limit=None) and "\n 59. " not in text
