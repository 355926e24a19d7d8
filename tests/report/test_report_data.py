"""The report's data and HTML, from real trackers (no browser; see test_report_browser.py)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from datetime import datetime
from importlib.resources import files
from pathlib import Path

import pytest

import mlineage as ml
from mlineage.report import build_report_data, write_report
from mlineage.views.report._html import json_for_script
from tests.report.conftest import (
    SCRIPT_BREAK,
    big_lineage,
    hostile_lineage,
    new_tracker,
    snapshot,
    xss,
)

ROOT = Path(__file__).resolve().parents[2]
DATA_BLOCK = re.compile(
    r'<script type="application/json" id="mlineage-data">(.*?)</script>', flags=re.S
)
#: XML namespace names the script passes to createElementNS: identifiers, never fetched.
NAMESPACES = {"http://www.w3.org/2000/svg"}


def embedded(html: str) -> dict:
    blocks = DATA_BLOCK.findall(html)
    assert len(blocks) == 1
    return json.loads(blocks[0])


# -- contents -------------------------------------------------------------------------------


def test_versions_carry_their_records_events_and_aliases(demo) -> None:
    tracker, v = demo
    data = build_report_data(tracker)
    assert data["schema"] == 2
    assert data["model"] == "fraud-detector"
    assert data["title"] == "fraud-detector lineage"
    assert data["store"] == tracker.store.uri
    assert data["mlineage_version"] == ml.__version__
    assert datetime.fromisoformat(data["generated_at"]).tzinfo is not None
    rows = {row["name"]: row for row in data["versions"]}
    assert len(data["versions"]) == len(tracker) == 12
    ids = [row["id"] for row in data["versions"]]
    assert ids == [x.id for x in tracker.graph.topological_order()]

    v6 = rows["v6"]
    assert v6["id"] == v["v6"].id and v6["short"] == tracker.abbrev(v["v6"])
    assert v6["parents"] == [v["v5"].id]
    assert v6["kind"] == "update"
    assert v6["created_at"] == v["v6"].created_at.isoformat()
    assert v6["metrics"] == {"accuracy": 0.86, "val_loss": 0.34}
    assert v6["hyperparameters"] == {"lr": 3e-3, "batch_size": 64}
    assert v6["notes"] == "learning rate tripled"
    assert v6["tags"] == ["weekly"]
    assert v6["all_tags"] == ["weekly", "incident-7"]
    assert v6["status"] == "deprecated"
    assert [a["notes"] for a in v6["annotations"]] == ["incident 7: recall dropped"]
    assert v6["dataset"]["path"] == "data/week6/" and v6["dataset"]["num_rows"] == 1060
    assert v6["dataset"]["hash"] == "sha256:week6"
    assert v6["model_path"] == "ckpt/v6.pt" and v6["artifact"] is None
    assert v6["environment_ref"] is None and data["environments"] == {}

    assert rows["merge"]["parents"] == [v["v3"].id, v["ft1"].id]
    assert rows["merge"]["kind"] == "merge"
    assert rows["ft0"]["kind"] == "fine_tune"
    assert rows["v5"]["aliases"] == ["production"] and rows["v7"]["aliases"] == ["staging"]
    assert rows["v1"]["aliases"] == []
    assert rows["v1"]["status"] == "committed" and rows["v1"]["annotations"] == []


def test_aliases_list_every_move(demo) -> None:
    tracker, v = demo
    aliases = {a["name"]: a for a in build_report_data(tracker)["aliases"]}
    assert set(aliases) == {"production", "staging"}
    production = aliases["production"]
    assert production["target"] == v["v5"].id
    assert [m["version"] for m in production["history"]] == [v["v1"].id, v["v5"].id]
    moves = tracker.alias_history("production")
    assert [m["effective_at"] for m in production["history"]] == [
        m.effective_at.isoformat() for m in moves
    ]


def test_main_line_is_the_longest_first_parent_history(demo) -> None:
    tracker, v = demo
    data = build_report_data(tracker)
    assert data["spine"] == [x.id for x in reversed(tracker.history("v7"))]
    assert v["ft0"].id not in data["spine"] and v["merge"].id in data["spine"]
    # The latest version, on a short branch, does not become the main line...
    late = tracker.log(parent="v2", kind="fine_tune", model_path="l.pt", dataset=snapshot("l"))
    assert tracker.latest() == late
    assert build_report_data(tracker)["spine"][-1] == v["v7"].id
    # ...and of two equally long histories, the newer tip's is.
    tied = tracker.log(parent="small", model_path="t.pt", dataset=snapshot("t"))
    assert len(tracker.history(tied)) == len(tracker.history("v7"))
    assert build_report_data(tracker)["spine"][-1] == tied.id


def test_metrics_have_a_timeline_suspects_and_a_bad_direction(demo) -> None:
    tracker, v = demo
    data = build_report_data(tracker)
    metrics = {m["name"]: m for m in data["metrics"]}
    assert list(metrics) == ["accuracy", "val_loss"]  # the primary metric first
    assert data["primary_metric"] == "accuracy"
    accuracy = metrics["accuracy"]
    assert accuracy["direction"] == "decrease" and metrics["val_loss"]["direction"] == "increase"
    assert accuracy["versions"] == 12
    spine = data["spine"]
    assert [spine[pos] for pos, _ in accuracy["timeline"]] == spine  # all carry accuracy
    assert accuracy["timeline"][-2][1] == 0.86
    first = accuracy["suspects"][0]
    expected = tracker.blame_report("accuracy", "decrease", on="v7").steps[0]
    assert first["rank"] == 1 and first["version"] == v["v6"].id == expected.version.id
    assert first["previous"] == v["v5"].id
    assert first["delta"] == pytest.approx(0.86 - 0.923)
    assert first["score"] == expected.score
    assert all(s["bad_amount"] > 0 for s in accuracy["suspects"])
    assert len(accuracy["suspects"]) <= 3
    assert metrics["val_loss"]["suspects"][0]["version"] == v["v6"].id
    assert accuracy["change_points"] == []


@pytest.mark.parametrize(
    ("name", "direction"),
    [
        ("loss", "increase"),
        ("Val_RMSE", "increase"),
        ("p99_latency_ms", "increase"),
        ("error_rate", "increase"),
        ("mae", "increase"),
        ("accuracy", "decrease"),
        ("auc", "decrease"),
    ],
)
def test_bad_direction_from_the_metric_name(name: str, direction: str) -> None:
    from mlineage.views.report._data import bad_direction

    assert bad_direction(name) == direction


def test_primary_metric_can_be_chosen_and_must_exist(demo) -> None:
    tracker, _ = demo
    data = build_report_data(tracker, metric="val_loss", title="Weekly <model> review")
    assert data["primary_metric"] == "val_loss"
    assert [m["name"] for m in data["metrics"]] == ["val_loss", "accuracy"]
    assert data["title"] == "Weekly <model> review"
    with pytest.raises(ml.InvalidInput, match=r"'f1'.*'accuracy', 'val_loss'"):
        build_report_data(tracker, metric="f1")


def test_empty_model() -> None:
    tracker = new_tracker("empty")
    data = build_report_data(tracker)
    assert data["versions"] == [] and data["spine"] == [] and data["metrics"] == []
    assert data["primary_metric"] is None and data["aliases"] == []
    with pytest.raises(ml.InvalidInput, match="metrics recorded: none"):
        build_report_data(tracker, metric="accuracy")


def test_one_version_without_metrics() -> None:
    tracker = new_tracker()
    only = tracker.log(model_path="m.pt", dataset=snapshot(0))
    data = build_report_data(tracker)
    assert [row["id"] for row in data["versions"]] == [only.id] == data["spine"]
    assert data["metrics"] == [] and data["primary_metric"] is None


def test_one_metric_value_has_no_suspects() -> None:
    tracker = new_tracker()
    tracker.log(model_path="m.pt", dataset=snapshot(0), metrics={"accuracy": 0.9})
    (metric,) = build_report_data(tracker)["metrics"]
    assert metric["timeline"] == [[0, 0.9]] and metric["suspects"] == []


def test_metric_recorded_only_off_the_main_line() -> None:
    tracker = new_tracker()
    root = tracker.log(model_path="0.pt", dataset=snapshot(0))
    tracker.log(model_path="1.pt", dataset=snapshot(1))
    tracker.log(model_path="2.pt", dataset=snapshot(2))
    tracker.log(parent=root, model_path="b.pt", dataset=snapshot("b"), metrics={"f1": 0.5})
    (metric,) = build_report_data(tracker)["metrics"]
    assert metric["name"] == "f1" and metric["versions"] == 1
    assert metric["timeline"] == [] and metric["suspects"] == []


def test_each_environment_is_embedded_once(tmp_path: Path) -> None:
    tracker = ml.Tracker("env-model", storage=str(tmp_path / "store"), hash_artifacts=False)
    for i in range(3):
        tracker.log(model_path=f"{i}.pt", dataset=snapshot(i))
    data = build_report_data(tracker)
    refs = {row["environment_ref"] for row in data["versions"]}
    assert len(refs) == 1 and set(data["environments"]) == refs
    (env,) = data["environments"].values()
    captured = tracker.environment(tracker.latest())
    assert captured is not None
    assert env["python_version"] == captured.python_version
    assert env["packages"] == captured.packages and "pydantic" in env["packages"]
    assert env["git_commit"] == captured.git_commit


def test_an_unreadable_environment_is_reported_not_raised(tmp_path: Path) -> None:
    storage = str(tmp_path / "store")
    writer = ml.Tracker("env-model", storage=storage, hash_artifacts=False)
    version = writer.log(model_path="m.pt", dataset=snapshot(0))
    assert version.environment_ref is not None
    writer.store.delete(version.environment_ref)
    data = build_report_data(ml.Tracker.load("env-model", storage=storage))
    assert "missing" in data["environments"][version.environment_ref]["error"]


# -- analyses -------------------------------------------------------------------------------


def test_analyses_become_tables_and_change_points_markers(demo) -> None:
    tracker, v = demo
    drift = [
        {"feature": "amount", "psi": 0.31, "p_value": float("nan"), "version": v["v6"].id},
        {"feature": "country", "psi": 0.02, "shifted": False, "top": ["DE", "FR"]},
    ]
    data = build_report_data(
        tracker,
        analyses={
            "drift": drift,
            "latency": [],
            "change_points": {"accuracy": [{"version": "v6", "score": 4.2}]},
        },
    )
    assert data["analyses"]["drift"][0]["p_value"] == "nan"
    assert data["analyses"]["drift"][1]["top"] == ["DE", "FR"]
    assert data["analyses"]["latency"] == []
    assert "change_points" not in data["analyses"] and "behaviour" not in data["analyses"]
    metrics = {m["name"]: m for m in data["metrics"]}
    assert metrics["accuracy"]["change_points"] == [{"version": v["v6"].id, "score": 4.2}]
    assert metrics["val_loss"]["change_points"] == []
    json.dumps(data, allow_nan=False)


def test_analyses_numpy_values_are_converted(demo) -> None:
    import numpy as np

    tracker, _ = demo
    rows = [{"psi": np.float64(0.5), "n": np.int64(3), "flag": np.bool_(True)}]
    data = build_report_data(tracker, analyses={"drift": rows})
    assert data["analyses"]["drift"] == [{"psi": 0.5, "n": 3, "flag": True}]


@pytest.mark.parametrize(
    ("analyses", "message"),
    [
        ([{"a": 1}], "analyses must be a mapping"),
        ({"drift": {"a": 1}}, r"analyses\['drift'\] must be a list of rows"),
        ({"drift": "rows"}, r"analyses\['drift'\] must be a list of rows"),
        ({"drift": [1, 2]}, r"analyses\['drift'\]\[0\] must be a dict"),
        ({"drift": [{"when": object()}]}, r"analyses\['drift'\]\[0\]\['when'\] is a object"),
        ({1: []}, "keys must be strings"),
        ({"change_points": [{"version": "v1"}]}, "must map metric names"),
        ({"change_points": {"f1": []}}, "'f1', which no version records"),
        ({"change_points": {"accuracy": [{"score": 1}]}}, "has no 'version' key"),
    ],
)
def test_misshapen_analyses_are_refused(demo, analyses: object, message: str) -> None:
    tracker, _ = demo
    with pytest.raises(ml.InvalidInput, match=message):
        build_report_data(tracker, analyses=analyses)  # type: ignore[arg-type]


def _nested(depth: int) -> list:
    outer: list = []
    inner = outer
    for _ in range(depth):
        inner.append([])
        inner = inner[0]
    return outer


def _loop() -> list:
    cell: list = [1]
    cell.append(cell)
    return cell


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        (_nested(5000), r"\]\[0\] is nested more than 64 levels deep \(or refers to itself\)"),
        (_loop(), r"is nested more than 64 levels deep \(or refers to itself\)"),
        ({"a": _loop()}, r"\['a'\]\[1\]\[1\].* refers to itself"),
        (10**5000, r"is an integer of 16610 bits; .* \(pass a larger one as a string\)"),
    ],
    ids=["5000-deep", "self-referential", "self-referential-in-a-dict", "huge-int"],
)
def test_cells_json_cannot_hold_are_refused_and_nothing_is_written(
    demo, tmp_path: Path, cell: object, message: str
) -> None:
    tracker, _ = demo
    target = tmp_path / "r.html"
    points = {"accuracy": [{"version": "v1", "x": cell}]}
    for analyses in ({"drift": [{"c": cell}]}, {"change_points": points}):
        with pytest.raises(ml.InvalidInput, match=message):
            write_report(tracker, target, analyses=analyses)
    assert list(tmp_path.iterdir()) == []
    shallow = _nested(63)  # the deepest accepted: 64 levels with the list itself
    data = build_report_data(tracker, analyses={"drift": [{"c": shallow}]})
    assert data["analyses"]["drift"][0]["c"] == shallow


def test_text_that_is_not_unicode_is_kept_in_the_data_or_refused_as_a_title(
    demo, tmp_path: Path
) -> None:
    """A profile keeps column names of files that are not UTF-8 exactly (as surrogates);
    the page holds them as JSON escapes instead of failing to write."""
    tracker, _ = demo
    row = {"feature": "caf\udce9", "caf\udce9": 1}
    path = write_report(tracker, tmp_path / "r.html", analyses={"drift": [row]})
    page = path.read_bytes().decode("utf-8")  # valid UTF-8 throughout
    assert "\\udce9" in page
    assert embedded(page)["analyses"]["drift"] == [row]
    with pytest.raises(ml.InvalidInput, match=r"^title holds a lone surrogate '\\udce9'"):
        write_report(tracker, tmp_path / "t.html", title="caf\udce9")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]


def test_change_point_at_an_unknown_version(demo) -> None:
    tracker, _ = demo
    with pytest.raises(ml.VersionNotFound):
        build_report_data(tracker, analyses={"change_points": {"accuracy": [{"version": "v99"}]}})


def test_bad_arguments() -> None:
    with pytest.raises(ml.InvalidInput, match="needs a mlineage Tracker"):
        build_report_data("fraud-detector")  # type: ignore[arg-type]
    with pytest.raises(ml.InvalidInput, match="title must be a string"):
        build_report_data(new_tracker(), title=3)  # type: ignore[arg-type]
    with pytest.raises(ml.InvalidInput, match="metric must be a string"):
        build_report_data(new_tracker(), metric=1)  # type: ignore[arg-type]


# -- the HTML file ---------------------------------------------------------------------------


def test_report_is_one_self_contained_file(demo, tmp_path: Path) -> None:
    tracker, _ = demo
    path = write_report(tracker, tmp_path / "lineage.html", title="Fraud <lineage>")
    assert path == (tmp_path / "lineage.html").absolute()
    html = path.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert "<title>Fraud &lt;lineage&gt;</title>" in html
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">', html)
    assert csp is not None
    assert csp.group(1).startswith(
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:"
    )
    # Nothing a browser would fetch: no URL but the SVG namespace name, no src/href but
    # data: and in-page anchors, no @import or url() in the style.
    # (The data block holds the store's URI as text, shown with textContent.)
    page = html.replace(DATA_BLOCK.search(html).group(0), "")  # type: ignore[union-attr]
    urls = set(re.findall(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s\"'<>)]*", page))
    assert urls <= NAMESPACES, urls - NAMESPACES
    assert "//" not in "".join(re.findall(r"(?:src|href)=\"([^\"]*)\"", html))
    for attribute in re.findall(r"(?:src|href)=\"([^\"]*)\"", html):
        assert attribute.startswith(("data:", "#")), attribute
    assert "@import" not in html and "url(" not in html
    assert embedded(html)["model"] == "fraud-detector"
    assert len(html) < 300_000
    assert oct(path.stat().st_mode & 0o777) == oct(0o644)


def test_the_data_block_cannot_be_broken_out_of(tmp_path: Path) -> None:
    tracker = new_tracker("hostile")
    first, _ = hostile_lineage(tracker)
    html = write_report(tracker, tmp_path / "r.html").read_text(encoding="utf-8")
    block = DATA_BLOCK.findall(html)[0]
    for raw in ("<", ">", "&", "\u2028", "\u2029"):
        assert raw not in block
    assert "\\u003c/script\\u003e" in block
    data = embedded(html)
    row = data["versions"][0]
    assert row["notes"] == first.notes and row["notes"].endswith(SCRIPT_BREAK + "\u2028\u2029")
    assert row["dataset"]["hash"] == SCRIPT_BREAK
    assert row["hyperparameters"][xss("hp-key")] == xss("hp-value")
    assert row["metadata"] == {xss("meta-key"): [xss("meta-value")]}
    assert row["all_tags"] == [xss("tag"), xss("annotation-tag")]
    # Outside the data block no payload text appears at all (the script builds the page).
    outside = html.replace(DATA_BLOCK.search(html).group(0), "")  # type: ignore[union-attr]
    assert "onerror" not in outside and "__pwned" not in outside


def test_json_for_script_round_trips() -> None:
    value = {"s": "</script><!-- & \u2028\u2029 é 😀", "n": [1, 2.5, None, True]}
    text = json_for_script(value)
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == value


def test_names_cannot_carry_markup() -> None:
    # Model, version and alias names are restricted to [A-Za-z0-9._-] by mlineage itself.
    with pytest.raises(ml.InvalidName):
        ml.Tracker(xss("model"), storage="memory://report-names")
    tracker = new_tracker()
    with pytest.raises(ml.InvalidName):
        tracker.log(model_path="m.pt", dataset=snapshot(0), name=xss("name"))
    version = tracker.log(model_path="m.pt", dataset=snapshot(0))
    with pytest.raises(ml.InvalidName):
        tracker.set_alias(xss("alias"), version)


def test_script_builds_no_markup_from_strings() -> None:
    script = files("mlineage.views.report").joinpath("assets", "report.js").read_text()
    for sink in (
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
        "new Function",
        'setTimeout("',
        "srcdoc",
        "createContextualFragment",
    ):
        assert sink not in script, sink
    assert "fetch(" not in script and "XMLHttpRequest" not in script


def test_assets_ship_in_the_package() -> None:
    assets = files("mlineage.views.report").joinpath("assets")
    assert assets.joinpath("report.js").is_file() and assets.joinpath("report.css").is_file()


# -- writing ---------------------------------------------------------------------------------


def test_write_replaces_an_existing_report(demo, tmp_path: Path) -> None:
    tracker, _ = demo
    target = tmp_path / "r.html"
    target.write_text("old")
    write_report(tracker, str(target))
    assert target.read_text().startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]


def test_missing_directory_is_a_clear_error(demo, tmp_path: Path) -> None:
    tracker, _ = demo
    with pytest.raises(ml.InvalidInput, match="does not exist"):
        write_report(tracker, tmp_path / "missing" / "r.html")
    assert not (tmp_path / "missing").exists()


@pytest.mark.parametrize("path", [None, 3, ""])
def test_path_must_name_a_file(demo, path: object) -> None:
    tracker, _ = demo
    with pytest.raises(ml.InvalidInput):
        write_report(tracker, path)  # type: ignore[arg-type]


def test_directory_is_not_a_file(demo, tmp_path: Path) -> None:
    tracker, _ = demo
    with pytest.raises(ml.InvalidInput, match="is a directory"):
        write_report(tracker, tmp_path)


def test_a_failure_leaves_the_old_report_and_no_temporary(
    demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tracker, _ = demo
    target = tmp_path / "r.html"
    target.write_text("old")
    with pytest.raises(ml.InvalidInput):
        write_report(tracker, target, metric="nope")

    def broken_replace(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_report(tracker, target)
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]


def test_import_stays_light() -> None:
    code = (
        "import sys, mlineage\n"
        "assert 'mlineage.report' not in sys.modules\n"
        "before = set(sys.modules)\n"
        "import mlineage.report\n"
        "new = {m.split('.')[0] for m in set(sys.modules) - before}\n"
        "print(sorted(new))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    assert result.returncode == 0, result.stderr
    new = set(json.loads(result.stdout.replace("'", '"')))
    heavy = {"numpy", "pandas", "scipy", "networkx", "matplotlib", "boto3", "google", "torch"}
    assert not new & heavy, new & heavy
    assert not new & {"playwright", "jinja2", "markupsafe"}


# -- size and speed --------------------------------------------------------------------------


def test_ten_thousand_versions_build_fast_and_stay_a_reasonable_size(tmp_path: Path) -> None:
    tracker = new_tracker("big")
    big_lineage(tracker, 10_000)
    assert len(tracker) == 10_000
    start = time.perf_counter()
    data = build_report_data(tracker)
    elapsed = time.perf_counter() - start
    # The budget is about 1-2 s on a 2-core machine; allow for a busy CI runner.
    assert elapsed < 6.0, f"build_report_data took {elapsed:.2f} s for 10,000 versions"
    path = write_report(tracker, tmp_path / "big.html")
    size = path.stat().st_size
    assert size < 12_000_000, f"{size / 1e6:.1f} MB"
    assert len(data["spine"]) > 9_000 and len(data["metrics"][0]["timeline"]) > 9_000
