"""OpenLineage export: events built with openlineage-python, valid against the vendored spec,
posted with the client's HTTP transport to a real server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

import mlineage as ml
from mlineage.connectors import openlineage
from mlineage.errors import ExportFailed, InvalidInput, MissingDependency, VersionNotFound
from tests.test_cli import cli

SPEC = Path(__file__).parents[1] / "data" / "openlineage-spec"
SRC = Path(__file__).parents[2] / "src"


def _registry() -> Registry:
    documents = [json.loads(p.read_text()) for p in SPEC.rglob("*.json")]
    documents.append(openlineage.facet_schema())
    return Registry().with_resources((doc["$id"], Resource.from_contents(doc)) for doc in documents)


REGISTRY = _registry()
FORMATS = Draft202012Validator.FORMAT_CHECKER


def _validator(schema_url: str) -> Draft202012Validator:
    return Draft202012Validator({"$ref": schema_url}, registry=REGISTRY, format_checker=FORMATS)


def _facets(event: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from event["run"].get("facets", {}).values()
    yield from event["job"].get("facets", {}).values()
    for dataset in [*event.get("inputs", []), *event.get("outputs", [])]:
        for key in ("facets", "inputFacets", "outputFacets"):
            yield from dataset.get(key, {}).values()


def validate(event: dict[str, Any]) -> None:
    """The event against OpenLineage.json, and every facet against its own `_schemaURL`."""
    _validator("https://openlineage.io/spec/2-0-2/OpenLineage.json").validate(event)
    for facet in _facets(event):
        url = facet["_schemaURL"]
        assert url.split("#")[0] in REGISTRY, f"no vendored schema for {url}"
        _validator(url).validate(facet)


def test_the_format_checks_run() -> None:
    # Without rfc3339-validator/rfc3986-validator these formats pass anything silently.
    assert not FORMATS.conforms("yesterday", "date-time")
    assert not FORMATS.conforms("not a uri", "uri")
    assert not FORMATS.conforms("zz", "uuid")


@pytest.fixture
def tracker(tmp_path: Path) -> ml.Tracker:
    """root -> update -> (fine-tune branch) and a merge of both lines, with profiles."""
    rng = np.random.default_rng(3)
    t = ml.Tracker("churn", storage=str(tmp_path / "store"), capture_environment=False)

    def frame(shift: float) -> Any:
        return pd.DataFrame(
            {
                "age": rng.normal(40 + shift, 5, 300),
                "plan": rng.choice(["a", "b", "c"], 300),
                "spend": np.where(rng.random(300) < 0.1, np.nan, rng.gamma(2, 10, 300)),
                "y": rng.integers(0, 2, 300),
            }
        )

    root = t.log(
        model_path="ckpt/0.pt",
        dataset=ml.DataSnapshot.from_dataframe(frame(0), path="data/jan", profile=True, label="y"),
        metrics={"auc": 0.8},
        hyperparameters={"lr": 0.01, "layers": [64, 32]},
        name="jan",
        tags=["monthly"],
    )
    update = t.log(
        model_path="ckpt/1.pt",
        dataset=ml.DataSnapshot.from_dataframe(frame(3), path="s3://lake/churn/feb", profile=True),
        metrics={"auc": 0.82},
        name="feb",
    )
    tune = t.log(
        model_path="ckpt/ft.pt",
        dataset=ml.DataSnapshot(hash="sha256:" + "ab" * 32),
        parent=root,
        kind="fine_tune",
        name="tuned",
    )
    t.log(
        model_path="ckpt/m.pt",
        dataset=ml.DataSnapshot(path="gs://bucket/merged", hash="sha256:" + "cd" * 32),
        parents=[update, tune],
        kind="merge",
        metrics={"auc": 0.85},
        name="merged",
    )
    return t


def test_every_event_is_valid_openlineage(tracker: ml.Tracker) -> None:
    dicts = openlineage.to_dicts(openlineage.events(tracker))
    assert len(dicts) == 4
    for event in dicts:
        validate(event)
        assert event["eventType"] == "COMPLETE"


def test_a_broken_event_is_caught_by_the_validation(tracker: ml.Tracker) -> None:
    event = openlineage.to_dicts(openlineage.events(tracker, "jan"))[0]
    bad = json.loads(json.dumps(event))
    bad["run"]["runId"] = "not-a-uuid"
    with pytest.raises(Exception, match="uuid"):
        validate(bad)
    bad = json.loads(json.dumps(event))
    del bad["outputs"][0]["facets"]["mlineage"]["version"]
    with pytest.raises(Exception, match="'version' is a required property"):
        validate(bad)


def test_runs_inputs_outputs_follow_the_versions(tracker: ml.Tracker) -> None:
    events = {e["run"]["runId"]: e for e in openlineage.to_dicts(openlineage.events(tracker))}
    for version in tracker.versions():
        event = events[str(uuid.UUID(hex=version.id))]
        assert event["job"] == {
            "namespace": "mlineage",
            "name": "churn.train",
            "facets": event["job"]["facets"],
        }
        assert event["eventTime"] == version.created_at.isoformat()
        data, *parents = event["inputs"]
        assert data["facets"]["version"]["datasetVersion"] == version.dataset.hash
        assert [(p["namespace"], p["name"]) for p in parents] == [("mlineage", "churn")] * len(
            version.parents
        )
        assert [p["facets"]["version"]["datasetVersion"] for p in parents] == list(version.parents)
        parent_facet = event["run"]["facets"].get("parent")
        if version.parents:
            assert parent_facet["run"]["runId"] == str(uuid.UUID(hex=version.parents[0]))
            assert parent_facet["job"]["name"] == "churn.train"
        else:
            assert parent_facet is None
        (output,) = event["outputs"]
        assert (output["namespace"], output["name"]) == ("mlineage", "churn")
        facet = output["facets"]["mlineage"]
        assert facet["version"] == output["facets"]["version"]["datasetVersion"] == version.id
        assert facet["parents"] == list(version.parents)
        assert (facet["kind"], facet["name"], facet["metrics"]) == (
            version.kind,
            version.name,
            dict(version.metrics),
        )
        assert facet["modelPath"] == version.model_path
    merged = events[str(uuid.UUID(hex=tracker.get_version("merged").id))]
    assert merged["outputs"][0]["facets"]["mlineage"]["kind"] == "merge"
    assert len(merged["inputs"]) == 3  # the data and both parent models


def test_dataset_names_follow_openlineage_naming(tracker: ml.Tracker) -> None:
    names = {
        e["outputs"][0]["facets"]["mlineage"]["name"]: (
            e["inputs"][0]["namespace"],
            e["inputs"][0]["name"],
        )
        for e in openlineage.to_dicts(openlineage.events(tracker))
    }
    assert names == {
        "jan": ("file", "data/jan"),
        "feb": ("s3://lake", "churn/feb"),
        "tuned": ("mlineage", "churn/data"),
        "merged": ("gs://bucket", "merged"),
    }


def test_schema_and_quality_facets_come_from_the_profile(tracker: ml.Tracker) -> None:
    event = openlineage.to_dicts(openlineage.events(tracker, "jan"))[0]
    data = event["inputs"][0]
    fields = {f["name"]: f for f in data["facets"]["schema"]["fields"]}
    assert list(fields) == ["age", "plan", "spend", "y"]
    assert fields["y"]["description"] == "label"
    # Types are the snapshot's dtypes (pandas' names).
    columns = tracker.get_version("jan").dataset.columns
    assert {n: f["type"] for n, f in fields.items()} == columns
    assert columns["age"] == "float64"
    quality = data["inputFacets"]["dataQualityMetrics"]
    profile = tracker.analysis.profile("jan")
    assert quality["rowCount"] == profile.num_rows == 300
    spend = quality["columnMetrics"]["spend"]
    assert spend["nullCount"] == profile["spend"].missing > 0
    assert spend["count"] == 300 - spend["nullCount"]
    values = np.sort(profile["spend"].values)
    assert spend["min"] == values[0] and spend["max"] == values[-1]
    assert spend["quantiles"]["0.5"] == pytest.approx(np.median(values))
    assert spend["sum"] == pytest.approx(values.sum())
    assert spend["distinctCount"] == np.unique(values).size
    assert quality["columnMetrics"]["plan"]["distinctCount"] == 3
    assert "quantiles" not in quality["columnMetrics"]["plan"]
    # A snapshot without a profile has no quality facet (and no schema without columns).
    tuned = openlineage.to_dicts(openlineage.events(tracker, "tuned"))[-1]
    assert "dataQualityMetrics" not in tuned["inputs"][0].get("inputFacets", {})


def test_export_again_is_the_same_events(tracker: ml.Tracker, tmp_path: Path) -> None:
    first = openlineage.to_ndjson(openlineage.events(tracker))
    reloaded = ml.Tracker.load("churn", storage=str(tmp_path / "store"), read_only=True)
    assert openlineage.to_ndjson(openlineage.events(reloaded)) == first
    assert openlineage.events(reloaded) == openlineage.events(tracker)


def test_ref_exports_that_version_and_its_ancestors(tracker: ml.Tracker) -> None:
    tune = [e.outputs[0].name for e in openlineage.events(tracker, "tuned")]
    assert len(tune) == 2
    names = [
        e["outputs"][0]["facets"]["mlineage"]["name"]
        for e in openlineage.to_dicts(openlineage.events(tracker, "merged"))
    ]
    assert (
        names[0] == "jan"
        and names[-1] == "merged"
        and set(names)
        == {
            "jan",
            "feb",
            "tuned",
            "merged",
        }
    )
    with pytest.raises(VersionNotFound):
        openlineage.events(tracker, "nope")


def test_bad_namespace_or_producer(tracker: ml.Tracker) -> None:
    with pytest.raises(InvalidInput, match="namespace"):
        openlineage.events(tracker, namespace="")
    with pytest.raises(InvalidInput, match="producer must be a URI"):
        openlineage.events(tracker, producer="just words")
    event = openlineage.to_dicts(
        openlineage.events(tracker, "jan", namespace="team", producer="https://example.org/x")
    )[0]
    validate(event)
    assert event["producer"] == "https://example.org/x"
    assert {f["_producer"] for f in _facets(event)} == {"https://example.org/x"}
    assert event["job"]["namespace"] == event["outputs"][0]["namespace"] == "team"


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.lists(st.lists(st.integers(0, 10_000), max_size=3), min_size=1, max_size=8))
def test_the_events_carry_every_edge_of_the_dag(shape: list[list[int]]) -> None:
    t = ml.Tracker("dag", storage=f"memory://ol-{uuid.uuid4().hex}", capture_environment=False)
    ids: list[str] = []
    for i, picks in enumerate(shape):
        parents = sorted({ids[p % i] for p in picks}) if i else []
        v = t.log(
            model_path=f"{i}.pt",
            dataset=ml.DataSnapshot(hash=f"sha256:{i}"),
            parents=parents,
            kind="merge" if len(parents) > 1 else "update",
        )
        ids.append(v.id)
    edges = set()
    seen: set[str] = set()
    for event in openlineage.to_dicts(openlineage.events(t)):
        validate(event)
        child = event["outputs"][0]["facets"]["version"]["datasetVersion"]
        parents = [d["facets"]["version"]["datasetVersion"] for d in event["inputs"][1:]]
        assert set(parents) <= seen  # parents before children
        seen.add(child)
        edges |= {(p, child) for p in parents}
    assert edges == {(p, v.id) for v in t.versions() for p in v.parents}


# -- posting -------------------------------------------------------------------------------


class _Lineage(BaseHTTPRequestHandler):
    """A tiny OpenLineage endpoint: records each POST, answers 201 (or `status`)."""

    received: list[tuple[str, dict[str, str], dict[str, Any]]]
    status = 201

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((self.path, dict(self.headers), json.loads(body)))  # type: ignore[attr-defined]
        self.send_response(self.server.status)  # type: ignore[attr-defined]
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Lineage)
    httpd.received = []  # type: ignore[attr-defined]
    httpd.status = 201  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def _url(server: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def test_post_sends_every_event_in_order(tracker: ml.Tracker, server: Any) -> None:
    run_events = openlineage.events(tracker)
    assert openlineage.post(run_events, _url(server), api_key="s3cret") == 4
    assert [path for path, _, _ in server.received] == ["/api/v1/lineage"] * 4
    assert [body for _, _, body in server.received] == openlineage.to_dicts(run_events)
    headers = server.received[0][1]
    assert headers["Content-Type"] == "application/json"
    assert headers["Authorization"] == "Bearer s3cret"
    for _, _, body in server.received:
        validate(body)


def test_post_reports_a_refusal_and_what_was_sent(tracker: ml.Tracker, server: Any) -> None:
    server.status = 400
    with pytest.raises(ExportFailed, match=r"HTTP 400; 0 event\(s\) were sent before"):
        openlineage.post(openlineage.events(tracker), _url(server), retries=0)
    assert len(server.received) == 1  # stopped at the first refusal


def test_post_to_a_closed_port_fails_fast(tracker: ml.Tracker) -> None:
    probe = ThreadingHTTPServer(("127.0.0.1", 0), _Lineage)
    port = probe.server_address[1]
    probe.server_close()  # nothing listens there now
    with pytest.raises(ExportFailed, match="ConnectionError"):
        openlineage.post(
            openlineage.events(tracker), f"http://127.0.0.1:{port}", retries=0, timeout=2
        )


@pytest.mark.parametrize(
    "url", ["localhost:5000", "ftp://host/x", "http://", "http://host:99999", 5000]
)
def test_a_bad_url_sends_nothing(tracker: ml.Tracker, url: Any) -> None:
    with pytest.raises(InvalidInput, match="URL"):
        openlineage.post(openlineage.events(tracker), url)


def test_without_openlineage_python_the_error_names_the_extra(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['openlineage'] = None\n"
        "import mlineage as ml\n"
        "from mlineage.connectors import openlineage\n"
        "t = ml.Tracker('m', storage='memory://x', capture_environment=False)\n"
        "try:\n"
        "    openlineage.events(t)\n"
        "except ml.errors.MissingDependency as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(SRC)},
        check=True,
    ).stdout
    assert "pip install 'mlineage[openlineage]'" in out
    assert issubclass(MissingDependency, ImportError)


# -- the command ---------------------------------------------------------------------------


def test_cli_writes_ndjson_and_posts(tracker: ml.Tracker, tmp_path: Path, server: Any) -> None:
    store = str(tmp_path / "store")
    out = tmp_path / "events.ndjson"
    result = cli("--store", store, "export", "openlineage", "churn", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "wrote 4 event(s) to " + str(out) + "\n"
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert lines == openlineage.to_dicts(openlineage.events(tracker))
    printed = cli("--store", store, "export", "openlineage", "churn", "--ref", "feb")
    assert [json.loads(line) for line in printed.stdout.splitlines()] == lines[:2]
    url = _url(server)
    posted = cli("--store", store, "export", "openlineage", "churn", "--url", url, "--json")
    summary = json.loads(posted.stdout)
    assert (summary["count"], summary["sent"], summary["dry_run"]) == (4, 4, False)
    assert [body for _, _, body in server.received] == lines


def test_cli_dry_run_writes_and_sends_nothing(
    tracker: ml.Tracker, tmp_path: Path, server: Any
) -> None:
    store, out = str(tmp_path / "store"), tmp_path / "events.ndjson"
    result = cli(
        "--store", store, "export", "openlineage", "churn", "--out", str(out),
        "--url", _url(server), "--dry-run",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"would write 4 event(s) to {out}",
        f"would send 4 event(s) to {_url(server)}",
    ]
    assert not out.exists() and server.received == []


def test_cli_bad_input_is_a_one_line_error(tracker: ml.Tracker, tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    bad_url = cli("--store", store, "export", "openlineage", "churn", "--url", "nowhere")
    assert bad_url.returncode == 2
    assert bad_url.stderr.startswith("mlineage: error: the OpenLineage URL must be http(s)")
    assert bad_url.stdout == ""
    missing = cli("--store", store, "export", "openlineage", "churn", "--ref", "nope")
    assert missing.returncode == 2 and "nope" in missing.stderr
    unknown = cli("--store", store, "export", "openlineage", "no-such-model")
    assert unknown.returncode == 2 and "no-such-model" in unknown.stderr


def test_the_docs_section_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    page = (SRC.parent / "docs" / "connectors.md").read_text()
    section = page.split("\n## OpenLineage\n")[1].split("\n## ")[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert blocks
    monkeypatch.chdir(tmp_path)
    exec(compile("\n".join(blocks), "docs (OpenLineage)", "exec"), {"__name__": "docs"})
    assert len((tmp_path / "events.ndjson").read_text().splitlines()) == 2
