"""Notebook views: to_pandas, plot, and the _repr_html_ of trackers and results."""

from __future__ import annotations

import doctest
import html
import itertools
import os
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import mlineage as ml
from mlineage import _tables, views
from mlineage.views import frames
from mlineage.views import text as text_views

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
XSS = "<img src=x onerror=alert(1)>"
_stores = itertools.count()


@pytest.mark.parametrize("module", [frames, text_views, _tables])  # views.html: _tables
def test_docstring_examples_run(module: object) -> None:
    pytest.importorskip("matplotlib").use("Agg")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)  # type: ignore[arg-type]
    assert result.failed == 0 and result.attempted > 0


@pytest.fixture
def tracker() -> ml.Tracker:
    t = ml.Tracker(
        "views", storage=f"memory://views-{os.getpid()}-{next(_stores)}", capture_environment=False
    )
    for i, acc in enumerate([0.90, 0.91, 0.84, 0.92]):
        t.log(
            name=f"v{i}",
            timestamp=T0 + timedelta(days=i),
            model_path=f"m{i}.pt",
            dataset=ml.DataSnapshot(path=f"data/{i}/", hash=f"sha256:{i}", num_rows=100 + i),
            metrics={"accuracy": acc} if i != 1 else {"accuracy": acc, "loss": 0.2},
            hyperparameters={"optimizer": {"lr": 0.1 * (i + 1), "name": "adam"}, "bs": 32},
            notes=XSS if i == 2 else f"update {i}",
            tags=[XSS] if i == 2 else [],
        )
    t.log(
        parent="v1",
        kind="fine_tune",
        name="ft",
        model_path="ft.pt",
        dataset=ml.DataSnapshot(hash="sha256:ft"),
        metrics={"accuracy": 0.95},
    )
    t.set_alias("production", "v1", at=T0 + timedelta(days=5))
    t.annotate("v2", notes="regression", tags=["incident"])
    t.set_status("v0", "deprecated")
    return t


def test_to_pandas_one_row_per_version(tracker: ml.Tracker) -> None:
    df = tracker.to_pandas()
    assert list(df.columns[:13]) == list(views.COLUMNS)
    assert list(df["name"]) == ["v0", "v1", "v2", "v3", "ft"]
    assert list(df["short_id"]) == [tracker.abbrev(i) for i in df["id"]]
    assert df.loc[1, "metric.loss"] == 0.2 and df["metric.loss"].isna().sum() == 4
    assert df.loc[2, "hp.optimizer.lr"] == pytest.approx(0.3)
    assert df["hp.bs"].isna().tolist() == [False] * 4 + [True]  # ft logged none
    assert df.loc[2, "tags"] == (XSS, "incident")
    assert df.loc[0, "status"] == "deprecated" and df.loc[1, "status"] == "committed"
    assert df.loc[1, "aliases"] == ("production",)
    assert df.loc[4, "parents"] == (tracker.get_version("v1").id,)
    assert df.loc[0, "kind"] == "initial" and df.loc[4, "kind"] == "fine_tune"
    assert str(df["created_at"].dt.tz) == "UTC"
    assert df.loc[3, "created_at"].to_pydatetime() == T0 + timedelta(days=3)
    assert list(df["dataset_rows"])[:4] == [100, 101, 102, 103]


def test_to_pandas_of_an_empty_tracker() -> None:
    t = ml.Tracker("empty", storage=f"memory://views-empty-{os.getpid()}")
    assert t.to_pandas().shape == (0, len(views.COLUMNS))


def test_to_pandas_without_pandas_names_the_install(
    tracker: ml.Tracker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ml.MissingDependency, match="pip install pandas"):
        tracker.to_pandas()


def test_plot_marks_suspects_and_change_points(tracker: ml.Tracker) -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ax = tracker.plot("accuracy", on="v3", change_points=["v3"])
    line = ax.get_lines()[0]
    assert list(line.get_ydata()) == [0.90, 0.91, 0.84, 0.92]
    assert any(t.get_text() == "#1 v2" for t in ax.texts)
    assert any(list(v.get_xdata()) == [3, 3] for v in ax.get_lines()[1:])
    _, given = plt.subplots()
    assert tracker.plot("loss", ax=given, on="v3") is given  # "loss": a rise is the bad way
    with pytest.raises(ml.MetricNotFound):
        tracker.plot("f1")
    plt.close("all")


def test_plot_labels_the_x_axis_with_version_names_or_times(tracker: ml.Tracker) -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    ax = tracker.plot("accuracy", on="v3")
    ax.figure.canvas.draw()
    ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
    assert ticks and all(float(t).is_integer() for t in ticks)  # no 0.5 ticks
    labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert set(labels) <= {"v0", "v1", "v2", "v3"} and "v0" in labels and "v3" in labels
    dated = tracker.plot("accuracy", on="v3", x="time", change_points=["v2"])
    dated.figure.canvas.draw()
    xs = dated.get_lines()[0].get_xdata()
    assert list(mdates.date2num(list(xs))) == [
        mdates.date2num(T0 + timedelta(days=i)) for i in range(4)
    ]
    assert dated.get_xlabel().startswith("logged at (UTC)")
    assert [t.get_text() for t in dated.get_xticklabels() if t.get_text()]
    with pytest.raises(ml.InvalidInput, match="x must be 'version' or 'time'"):
        tracker.plot("accuracy", x="index")  # type: ignore[arg-type]
    plt.close("all")


def test_plot_without_matplotlib(tracker: ml.Tracker, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ml.MissingDependency, match="mlineage\\[plot\\]"):
        tracker.plot("accuracy")


def test_html_views_escape_everything(tracker: ml.Tracker, tmp_path: Path) -> None:
    shown = {
        "tracker": tracker._repr_html_(),
        "diff": tracker.diff("v1", "v2")._repr_html_(),
        "blame": tracker.blame_report("accuracy", on="v3")._repr_html_(),
        "checkout": tracker.checkout("v2")._repr_html_(),
        "fsck": ml.fsck(tracker.store)._repr_html_(),
        "version": tracker.get_version("v2")._repr_html_(),
    }
    for name, text in shown.items():
        assert "<img" not in text, name
        assert text.startswith(("<div>", "<table")), name
    assert html.escape(XSS) in shown["diff"]  # v2's note
    assert "production" in shown["tracker"] and "5" in shown["tracker"]
    assert "#" in shown["blame"] and "v2" in shown["blame"]
    assert "hyperparameter optimizer" in shown["diff"]
    assert "no problems" in shown["fsck"]
    # The plain text forms are unchanged.
    assert str(tracker.diff("v1", "v2")).startswith("diff ")
    assert repr(tracker).startswith("Tracker('views'")


def test_report_from_the_tracker(tracker: ml.Tracker, tmp_path: Path) -> None:
    path = tracker.report(tmp_path / "r.html", metric="accuracy", title="T")
    assert path == tmp_path / "r.html" and "<title>T</title>" in path.read_text()


def test_versions_with_events(tracker: ml.Tracker) -> None:
    assert set(tracker.versions_with_events()) == {
        tracker.get_version("v2").id,
        tracker.get_version("v0").id,
    }


def test_old_presentation_paths_still_import() -> None:
    import importlib
    import sys

    from mlineage.views import report

    sys.modules.pop("mlineage.display", None)
    with pytest.warns(DeprecationWarning, match="mlineage.views.text"):
        display = importlib.import_module("mlineage.display")
    assert display is text_views and display.graph_rows is text_views.graph_rows
    # mlineage.report stays the documented path: the same package and modules, no warning.
    import mlineage.report._data

    import mlineage.report

    assert mlineage.report is report and mlineage.report.write_report is report.write_report
    assert mlineage.report._data is importlib.import_module("mlineage.views.report._data")
    with pytest.warns(DeprecationWarning, match="tracker.bisect"):
        assert callable(views.bisect)


# -- to_pandas from the lineage's columns and packs read in bulk --------------------------


def _records_frame(tracker: ml.Tracker) -> dict[str, list[object]]:
    """What every column should hold, from each version's decoded record."""
    aliases: dict[str, list[str]] = {}
    for alias, target in tracker.aliases().items():
        aliases.setdefault(target.id, []).append(alias)
    out: dict[str, list[object]] = {}
    versions = tracker.versions()
    metrics = sorted({m for v in versions for m in v.metrics})
    for v in versions:
        row: dict[str, object] = {
            "id": v.id,
            "name": v.name,
            "parents": v.parents,
            "kind": v.kind,
            "created_at": v.created_at,
            "dataset_hash": v.dataset.hash,
            "dataset_path": v.dataset.path,
            "dataset_rows": v.dataset.num_rows,
            "notes": v.notes,
            "tags": tuple(tracker.tags(v)),
            "status": tracker.status(v).value
            if v.id in tracker.versions_with_events()
            else v.status.value,
            "aliases": tuple(aliases.get(v.id, ())),
            **{f"metric.{m}": v.metrics.get(m) for m in metrics},
        }
        flat: dict[str, object] = {}
        frames._flatten("hp", dict(v.hyperparameters), flat)
        row.update(flat if v.hyperparameters else {})
        for key in row.keys() | out.keys():
            out.setdefault(key, [None] * (len(next(iter(out.values()), [])) - (key in out)))
        for key in out:
            out[key].append(row.get(key))
    return out


def _same_as_records(df: object, tracker: ml.Tracker) -> None:
    import pandas as pd

    assert isinstance(df, pd.DataFrame)
    expected = _records_frame(tracker)
    assert sorted(df.columns) == sorted([*expected, "short_id"])
    for name, values in expected.items():
        got = [None if (x is pd.NA or (isinstance(x, float) and x != x)) else x for x in df[name]]
        if name == "created_at":
            got = [t.to_pydatetime() for t in df[name]]
        assert got == values, name


def _varied(t: ml.Tracker) -> None:
    """Versions of every shape: a branch, a merge, missing metrics, nested and missing
    hyperparameters, names, tags, annotations, a status change and an alias."""
    for i in range(6):
        t.log(
            name=f"v{i}" if i % 2 else None,
            timestamp=T0 + timedelta(days=i),
            model_path=f"m{i}.pt",
            dataset=ml.DataSnapshot(
                path=None if i == 3 else f"d/{i}",
                hash=f"sha256:{i}",
                num_rows=None if i == 2 else i,
            ),
            metrics={"accuracy": 0.9 + i / 100} if i != 4 else {"loss": 0.5},
            hyperparameters={}
            if i == 5
            else {"opt": "sgd" if i == 2 else {"lr": 0.1, "betas": [0.9, 0.99]}, "bs": i},
            notes=f"update {i}",
            tags=["nightly"] if i == 1 else [],
        )
    side = t.log(
        parent="v1",
        kind="fine_tune",
        model_path="ft.pt",
        dataset=ml.DataSnapshot(hash="sha256:ft"),
        metrics={"f1": 0.7},
    )
    t.log(
        parents=["v5", side],
        kind="merge",
        model_path="merge.pt",
        dataset=ml.DataSnapshot(hash="sha256:m"),
        metrics={"accuracy": 0.99},
    )
    t.annotate("v3", notes="looked at", tags=["incident", "nightly"])
    t.set_status("v1", "deprecated")
    t.set_alias("production", "v3")


def test_to_pandas_from_packs_equals_the_records(tmp_path: Path) -> None:
    writer = ml.Tracker("tbl", storage=str(tmp_path), capture_environment=False)
    _varied(writer)
    loose = ml.Tracker.load("tbl", storage=str(tmp_path))
    from_loose = loose.to_pandas()
    _same_as_records(from_loose, loose)
    writer.compact()
    packed = ml.Tracker.load("tbl", storage=str(tmp_path))
    df = packed.to_pandas()
    # read in bulk from the packs: only the versions with annotations or status changes
    # were decoded into version objects (for their tags)
    read = {v.id for v in packed.graph.versions() if not ml.records.is_lazy(v)}
    assert (
        read
        == set(packed.versions_with_events())
        == {packed.get_version(n).id for n in ("v1", "v3")}
    )
    _same_as_records(df, packed)
    assert df.equals(from_loose)
    for v in packed.versions():
        _ = v.notes  # every record read: the same frame from the version objects
    assert packed.to_pandas().equals(df)
    assert writer.to_pandas().equals(df)  # the writer's versions read back from the store


def test_to_pandas_names_a_packed_record_stored_invalid(tmp_path: Path) -> None:
    # A pack written before format 5 (no table line): the records are parsed for the table.
    from tests import packfile

    t = ml.Tracker("bad", storage=str(tmp_path), capture_environment=False)
    t.log(model_path="m.pt", dataset=ml.DataSnapshot(hash="sha256:0"))
    t.log(model_path="m.pt", dataset=ml.DataSnapshot(hash="sha256:1"))
    t.compact()
    (path,) = (tmp_path / "models" / "bad" / "packs").iterdir()
    header, records = packfile.read(path)
    del header["table"]
    header["format"] = 4
    records[1]["dataset"]["hash"] = 1234567890  # a faulty writer
    packfile.write(path, header, records)
    loaded = ml.Tracker.load("bad", storage=str(tmp_path))
    with pytest.raises(ml.CorruptRecord, match=r"invalid version record at index 1 .*fsck"):
        loaded.to_pandas()
    assert [p.kind for p in ml.fsck(str(tmp_path)).problems] == ["corrupt-record"]


def test_to_pandas_names_a_packs_damaged_table_and_fsck_finds_it(tmp_path: Path) -> None:
    # Format 5: the table line, not the records, gives the frame; a faulty writer's table
    # that disagrees with the records is found by fsck, and one that does not parse is
    # named by to_pandas.
    from tests import packfile

    t = ml.Tracker("bad", storage=str(tmp_path), capture_environment=False)
    t.log(model_path="m.pt", dataset=ml.DataSnapshot(hash="sha256:0"), notes="first")
    t.log(model_path="m.pt", dataset=ml.DataSnapshot(hash="sha256:1"), notes="second")
    t.compact()
    (path,) = (tmp_path / "models" / "bad" / "packs").iterdir()
    header, records = packfile.read(path)
    assert header["format"] == 5 and header["table"]["notes"] == ["first", "second"]
    header["table"]["notes"][1] = "altered"
    packfile.write(path, header, records)
    loaded = ml.Tracker.load("bad", storage=str(tmp_path))
    assert list(loaded.to_pandas()["notes"]) == ["first", "altered"]  # read from the table
    assert loaded.versions()[1].notes == "second"  # the record
    problems = ml.fsck(str(tmp_path)).problems
    assert [p.kind for p in problems] == ["corrupt-record"]
    assert "does not match the pack's table" in problems[0].message
    header["table"]["dataset_rows"] = ["many", None]
    packfile.write(path, header, records)
    with pytest.raises(ml.CorruptRecord, match=r"damaged table .*fsck"):
        ml.Tracker.load("bad", storage=str(tmp_path)).to_pandas()
    header["table"]["dataset_rows"] = [None]
    packfile.write(path, header, records)
    with pytest.raises(ml.CorruptRecord, match=r"damaged table \(columns of the wrong length"):
        ml.Tracker.load("bad", storage=str(tmp_path)).to_pandas()


def test_to_pandas_after_a_packs_newest_records_were_read(tmp_path: Path) -> None:
    """A pack whose last versions were already read (a `log --graph` of the newest rows)
    still gives one row per version, each with its own fields."""
    writer = ml.Tracker("part", storage=str(tmp_path), capture_environment=False)
    for i in range(12):
        writer.log(
            model_path=f"m{i}.pt",
            dataset=ml.DataSnapshot(hash=f"sha256:{i}"),
            notes=f"update {i}",
            hyperparameters={"epoch": i},
            metrics={"accuracy": i / 100},
        )
    writer.compact()
    for newest in (1, 5, 11):
        packed = ml.Tracker.load("part", storage=str(tmp_path))
        for v in packed.versions()[-newest:]:
            _ = v.notes  # read these records, leave the older ones to the bulk path
        df = packed.to_pandas()
        assert len(df) == 12
        assert list(df["notes"]) == [f"update {i}" for i in range(12)]
        assert list(df["hp.epoch"]) == list(range(12))
        _same_as_records(df, packed)
