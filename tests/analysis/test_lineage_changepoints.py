"""tracker.analysis.change_points: level shifts along a history, found from the graph's column."""

from __future__ import annotations

import pytest

import mlineage as ml
from mlineage.errors import InvalidInput


def _tracker(values: list[float]) -> ml.Tracker:
    tracker = ml.Tracker("cp", storage="memory://", capture_environment=False)
    for i, value in enumerate(values):
        tracker.log(
            model_path=f"m{i}.pt",
            dataset=ml.DataSnapshot(hash=f"sha256:{i}"),
            metrics={"accuracy": value},
            name=f"month-{i + 1}",
        )
    return tracker


def test_a_shift_at_month_seven_is_found() -> None:
    noise = [0.001, -0.002, 0.0015, 0.0, -0.001, 0.002]
    values = [0.90 + n for n in noise] + [0.84 + n for n in noise]
    report = _tracker(values).analysis.change_points("accuracy")
    assert [v.name for v in report.changed_at] == ["month-7"]
    (change,) = report.to_dict()["changes"]
    assert change["before"] == pytest.approx(0.90, abs=0.002)
    assert change["after"] == pytest.approx(0.84, abs=0.002)
    assert "month-7" in str(report)


def test_a_slow_decline_is_a_level_shift_not_one_bad_step() -> None:
    values = [0.90] * 6 + [0.89, 0.88, 0.87, 0.86, 0.85] + [0.85] * 6
    tracker = _tracker(values)
    report = tracker.analysis.change_points("accuracy")
    assert report.breakpoints, str(report)
    assert all(6 <= b <= 11 for b in report.breakpoints)


def test_flat_series_and_missing_metric() -> None:
    tracker = _tracker([0.9] * 8)
    assert tracker.analysis.change_points("accuracy").breakpoints == []
    with pytest.raises(ml.MetricNotFound):
        tracker.analysis.change_points("auc")
    assert tracker.analysis is tracker.analysis  # built once


@pytest.mark.parametrize(
    "options",
    [
        {"method": "x"},
        {"penalty": -1},
        {"penalty": float("nan")},
        {"penalty": "high"},
        {"min_size": 0},
        {"min_size": 2.0},
    ],
    ids=repr,
)
@pytest.mark.parametrize("versions", [1, 2, 3, 12])
def test_options_are_checked_on_a_history_of_any_length(
    options: dict[str, object], versions: int
) -> None:
    tracker = _tracker([0.9] * versions)
    with pytest.raises(InvalidInput, match=next(iter(options))):
        tracker.analysis.change_points("accuracy", **options)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match=next(iter(options))):
        tracker.analysis.change_points("not-recorded", **options)  # type: ignore[arg-type]


def test_many_changes_show_the_largest_few_in_short_views() -> None:
    # A staircase of 40 levels, each step larger than the last, named so that one name
    # would break HTML if it were not escaped.
    values = [0.0]
    for level in range(1, 40):
        values += [float(level * level)] * 4
    tracker = _tracker(values)
    tracker.log(
        model_path="x.pt", dataset=ml.DataSnapshot(hash="sha256:x"), metrics={"accuracy": 0.0}
    )
    report = tracker.analysis.change_points("accuracy", penalty=0.0)
    assert len(report.breakpoints) == 40
    text, short, html = str(report), repr(report), report._repr_html_()
    assert len(text) < 2048 and len(short) < 2048 and len(html) < 4096
    assert "... 30 more" in text and "... 30 more" in html and "... 35 more" in short
    largest = report.largest(3)
    assert [c["position"] for c in largest] == [157, 153, 149]  # the drop to 0, then 39^2-38^2, ...
    assert text.splitlines()[1].startswith(f"  at {largest[0]['version'][-8:]}")
    assert len(report.to_dict()["changes"]) == 40
    frame = report.to_pandas()
    assert list(frame["position"]) == report.breakpoints
    assert frame["delta"].iloc[-1] == pytest.approx(-(39.0**2))


def test_html_view_escapes_the_metric_and_says_when_there_is_no_shift() -> None:
    noise = [0.001, -0.002, 0.0015, 0.0, -0.001, 0.002]
    tracker = ml.Tracker("cp", storage="memory://", capture_environment=False)
    for i, value in enumerate([0.90 + n for n in noise] + [0.84 + n for n in noise]):
        tracker.log(
            model_path=f"m{i}.pt",
            dataset=ml.DataSnapshot(hash=f"sha256:{i}"),
            metrics={"<b>acc</b>": value},
            name=f"month-{i + 1}",
        )
    html = tracker.analysis.change_points("<b>acc</b>")._repr_html_()
    assert "&lt;b&gt;acc&lt;/b&gt;" in html and "<b>acc" not in html
    assert "<td>month-7</td>" in html
    flat = _tracker([0.9] * 8).analysis.change_points("accuracy")
    assert "no level shift in 8 versions" in flat._repr_html_()
    assert "<table>" not in flat._repr_html_()
    assert repr(flat).startswith("<ChangePoints accuracy: no level shift in 8 versions")


def test_versions_are_made_when_looked_at(tmp_path: object) -> None:
    """A history of 10^6 versions: the result holds node indices, not 10^6 objects."""
    from mlineage.records import is_lazy

    writer = ml.Tracker("cp", storage=str(tmp_path), capture_environment=False)
    noise = [0.001, -0.002, 0.0015, 0.0, -0.001, 0.002] * 3
    for i, value in enumerate([0.90 + n for n in noise] + [0.84 + n for n in noise]):
        writer.log(
            model_path=f"m{i}.pt",
            dataset=ml.DataSnapshot(hash=f"sha256:{i}"),
            metrics={"accuracy": value} if i != 4 else {},
            name=f"month-{i + 1}",
        )
    writer.compact()
    tracker = ml.Tracker.load("cp", storage=str(tmp_path))
    report = tracker.analysis.change_points("accuracy")
    assert all(is_lazy(v) for v in tracker.versions())  # nothing read to find the shift
    carrying = [v for v in tracker.history()[::-1] if v.metrics.get("accuracy") is not None]
    assert report.versions == carrying and len(report.versions) == 35
    assert list(report.versions) == carrying and report.versions[3:5] == carrying[3:5]
    assert report.versions[-1] == carrying[-1]
    assert [v.name for v in report.changed_at] == ["month-19"]
    assert report.values == [v.metrics["accuracy"] for v in carrying]


def test_the_history_read_follows_new_versions_and_other_tips() -> None:
    # The graph keeps the last main line walked (as an index array): a version logged
    # since, or a query on another tip, must read that history, not the kept one.
    values = [0.90, 0.91, 0.89, 0.90, 0.84, 0.85, 0.83, 0.84]
    tracker = _tracker(values)
    first = tracker.analysis.change_points("accuracy")
    assert first.values == values and [v.name for v in first.changed_at] == ["month-5"]
    tracker.log(
        model_path="more.pt", dataset=ml.DataSnapshot(hash="sha256:more"), metrics={"accuracy": 0.7}
    )
    assert tracker.analysis.change_points("accuracy").values == [*values, 0.7]
    branch = tracker.log(
        model_path="b.pt",
        dataset=ml.DataSnapshot(hash="sha256:b"),
        metrics={"accuracy": 0.5},
        parents=[first.versions[2]],
    )
    on_branch = tracker.analysis.change_points("accuracy", on=branch)
    assert on_branch.values == [*values[:3], 0.5]
    assert [v.id for v in on_branch.versions][-1] == branch.id
    on_old = tracker.analysis.change_points("accuracy", on=first.versions[5])
    assert on_old.values == values[:6]
    assert tracker.analysis.change_points("accuracy", on=branch).values == [*values[:3], 0.5]


def test_change_points_import_only_their_own_statistics() -> None:
    # tracker.analysis and mlineage.stats import a statistic's module when it is used:
    # the first change-point query of a process does not pay for the drift tests,
    # profiles and probes (about 80 ms of imports, more without bytecode caches).
    import subprocess
    import sys

    code = (
        "import sys, mlineage as ml\n"
        "t = ml.Tracker('cp', storage='memory://', capture_environment=False)\n"
        "for i in range(6):\n"
        "    t.log(model_path=f'{i}.pt', dataset=ml.DataSnapshot(hash=f'sha256:{i}'),\n"
        "          metrics={'accuracy': 0.9 - 0.1 * (i > 2)})\n"
        "t.analysis.change_points('accuracy')\n"
        "print(sorted(m for m in sys.modules if m == 'numpy.ma' or m.startswith(("
        "'mlineage.stats', 'mlineage.analysis'))))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert eval(out) == [
        "mlineage.analysis",
        "mlineage.analysis.lineage",
        "mlineage.stats",
        "mlineage.stats._changepoints",
        "mlineage.stats._inputs",  # the input checks every statistic shares (numpy only)
    ]
    import mlineage.analysis as analysis
    import mlineage.stats as stats

    assert set(dir(stats)) >= set(stats.__all__)
    assert set(dir(analysis)) >= set(analysis.__all__)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        stats.nope  # noqa: B018
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        analysis.nope  # noqa: B018
