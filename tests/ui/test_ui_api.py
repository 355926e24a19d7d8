"""The UI's JSON API, over HTTP, against the real ``mlineage ui`` server (and an app served
in a thread where a test needs a small page size)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest
from tests.ui.conftest import (
    DAMAGED,
    DEMO,
    LIVE,
    SRC,
    XSS_MODEL,
    free_port,
    log_named,
    request,
    running,
)

import mlineage as ml
from mlineage.cli import main
from mlineage.errors import MissingDependency
from mlineage.report import build_report_data
from mlineage.ui import create_app
from mlineage.ui._app import CSP
from mlineage.views import report_analyses


def q(text: str) -> str:
    return urllib.parse.quote(text, safe="")


def test_models_lists_every_model_with_its_summary(ui_server: str, store: Path) -> None:
    answer = request(ui_server + "/api/models")
    assert answer.status == 200 and answer.headers["content-type"] == "application/json"
    models = {m["model"]: m for m in answer.json()["models"]}
    assert sorted(models) == sorted(ml.list_models(store))
    demo = ml.Tracker.load(DEMO, storage=store, read_only=True)
    entry = models[DEMO]
    assert entry["versions"] == len(demo)
    assert entry["latest"]["id"] == demo.latest().id  # type: ignore[union-attr]
    assert entry["aliases"] == {a: v.id for a, v in demo.aliases().items()}
    newest = demo.evidence(kind="gate")[0]
    assert entry["gate"] == {
        "version": newest.version,
        "created_at": newest.created_at.isoformat(),
        "summary": json.loads(json.dumps(newest.summary)),
    }
    # The demo's silent shift: drift along its main line flags the steps, as drift-along does.
    anomalous = demo.analysis.drift_along().anomalous
    assert anomalous and entry["anomalies"] == [
        {"kind": "drift", "version": s.version.id, "name": s.version.name, "z": s.z}
        for s in anomalous
    ]
    assert "error" in models[DAMAGED] and "CorruptRecord" in models[DAMAGED]["error"]
    assert models[XSS_MODEL]["versions"] == 2  # the damaged model did not stop the others


def test_model_report_is_the_static_reports_data(ui_server: str, store: Path) -> None:
    got = request(f"{ui_server}/api/models/{DEMO}/report").json()
    tracker = ml.Tracker.load(DEMO, storage=store, read_only=True)
    want = build_report_data(tracker, analyses=report_analyses(tracker))
    assert want["analyses"]["drift"] and want["analyses"]["behaviour"]  # the demo has both
    assert got["paging"] == {
        "page": 0,
        "pages": 1,
        "page_size": 2000,
        "total": len(tracker),
        "start": 0,
        "stop": len(tracker),
    }
    for key in want:
        if key != "generated_at":
            assert got[key] == want[key], key


def test_a_version_has_the_fields_of_show_json(
    ui_server: str, store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    got = request(f"{ui_server}/api/models/{DEMO}/versions/production").json()
    assert main(["--store", str(store), "show", DEMO, "production", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert got == shown


def test_compare_any_two_versions_computes_drift_and_behaviour(ui_server: str, store: Path) -> None:
    tracker = ml.Tracker.load(DEMO, storage=store, read_only=True)
    first, last = tracker.versions()[1], tracker.versions()[-1]  # not parent and child
    got = request(f"{ui_server}/api/models/{DEMO}/compare?a={first.id}&b={last.name}").json()
    assert (got["a"], got["b"]) == (first.id, last.id)
    assert got["drift"] == json.loads(json.dumps(tracker.analysis.drift(first, last).to_dict()))
    behaviour = tracker.analysis.compare(first, last).to_dict()
    assert got["behaviour"]["churn"] == behaviour["churn"] > 0


def test_compare_without_profiles_says_so_per_half(ui_server: str) -> None:
    got = request(f"{ui_server}/api/models/{XSS_MODEL}/compare?a=plain&b=second").json()
    assert "error" in got["drift"] and "error" in got["behaviour"]


@pytest.mark.parametrize(
    ("query", "want"),
    [
        ("q=FRAUD-2024-0", {"fraud-2024-01", "fraud-2024-02", "fraud-2024-03"}),
        ("alias=production", None),
        ("tag=seed", {"first"}),
        ("q=second&metric=accuracy&min=0.3&max=0.45", {"second"}),
        ("q=second&metric=accuracy&min=0.5", set()),
    ],
)
def test_search_by_name_tag_alias_and_metric_range(
    ui_server: str, store: Path, query: str, want: set[str] | None
) -> None:
    got = request(f"{ui_server}/api/search?{query}").json()
    names = {r["name"] for r in got["results"]}
    if want is None:  # every alias target of every model
        targets = set()
        for model in (DEMO, XSS_MODEL):
            t = ml.Tracker.load(model, storage=store, read_only=True)
            targets |= {t.aliases()["production"].name} if "production" in t.aliases() else set()
        want = targets
    assert want <= names if query.startswith("q=FRAUD") else names == want


def test_search_reports_a_damaged_model_and_finds_the_rest(ui_server: str) -> None:
    got = request(f"{ui_server}/api/search?alias=production").json()
    assert "CorruptRecord" in got["errors"][DAMAGED]
    assert {r["model"] for r in got["results"]} == {DEMO, XSS_MODEL}


@pytest.mark.parametrize(
    "path",
    [
        "/api/models/" + q("../../etc/passwd"),
        "/api/models/" + q("..") + "/report",
        "/api/models/%2e%2e/state",
        "/api/models/" + q("a\x00b"),
        "/api/models/" + "a" * 300,
        "/api/models/" + q("fraud\u2010detector") + "/report",  # a Unicode hyphen
        "/api/models/" + q("\uff46\uff52\uff41\uff55\uff44-detector"),  # fullwidth letters
        "/api/models/" + q("fraud-detector\u202e"),  # right-to-left override
        f"/api/models/{DEMO}/versions/" + q("../../../mlineage.json"),
        f"/api/models/{DEMO}/versions/" + q("v\x00"),
        f"/api/models/{DEMO}/versions/" + "f" * 200,
        f"/api/models/{DEMO}/compare?a=" + q("../x") + "&b=production",
        f"/api/models/{DEMO}/compare?a=production",
        f"/api/models/{DEMO}/report?page=-1",
        f"/api/models/{DEMO}/report?page=1",
        f"/api/models/{DEMO}/report?page=nan",
        "/api/search?metric=accuracy&min=1&max=0",
        "/api/search?q=" + "x" * 1000,
        "/assets/" + q("../__init__.py"),
        "/assets/" + q("../../../../etc/passwd"),
        "/models/" + q("<script>"),
        "/api/models/no-such-model/report",
        f"/api/models/{DEMO}/versions/no-such-version",
        "/etc/passwd",
    ],
)
def test_bad_paths_get_a_4xx_with_a_clear_json_body(ui_server: str, path: str) -> None:
    answer = request(ui_server + path)
    assert 400 <= answer.status < 500, (answer.status, answer.body)
    body = answer.json()
    assert body["status"] == answer.status and body["error"] and body["message"]


def test_a_damaged_model_is_a_4xx_error_for_that_model_only(ui_server: str) -> None:
    answer = request(f"{ui_server}/api/models/{DAMAGED}/report")
    assert answer.status == 422 and answer.json()["error"] == "CorruptRecord"
    assert request(f"{ui_server}/api/models/{DEMO}/report").status == 200


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("path", ["/api/models", f"/api/models/{DEMO}/report", "/"])
def test_nothing_writes_every_other_method_is_405(ui_server: str, method: str, path: str) -> None:
    answer = request(ui_server + path, method=method)
    assert answer.status == 405 and "read-only" in answer.json()["message"]


def test_every_response_forbids_requests_elsewhere(ui_server: str) -> None:
    for path in ("/", f"/models/{DEMO}", "/api/models", "/assets/ui.js", "/nope"):
        headers = request(ui_server + path).headers
        assert headers["content-security-policy"] == CSP
        assert headers["x-content-type-options"] == "nosniff"
    assert "default-src 'none'" in CSP and "connect-src 'self'" in CSP


def test_a_request_for_another_host_name_is_refused(ui_server: str) -> None:
    # A page elsewhere reaching the server through DNS rebinding sends its own host name.
    answer = request(ui_server + "/api/models", headers={"Host": "attacker.example"})
    assert answer.status == 400


def test_long_lineages_are_paged_newest_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlineage.ui._service as service

    monkeypatch.setattr(service, "PAGE", 6)
    tracker = ml.Tracker("long", storage=tmp_path, capture_environment=False)
    noise = [0.01, -0.01, 0.02, -0.015, 0.005, 0.0, -0.02, 0.015, -0.005, 0.01, -0.01, 0.02]
    noise += [-0.015, 0.005, 0.0]
    accuracy = [round(0.8 + n, 3) for n in noise]
    accuracy[5] = 0.5  # one drop, on page 1, far beyond the step noise
    previous = None
    for i in range(15):
        metrics = {"accuracy": accuracy[i]}
        previous = log_named(tracker, f"v{i}", parent=previous, metrics=metrics)
    with running(create_app(tmp_path)) as base:
        pages = [request(f"{base}/api/models/long/report?page={p}").json() for p in range(3)]
        past = request(f"{base}/api/models/long/report?page=3")
    assert [[v["name"] for v in p["versions"]] for p in pages] == [
        [f"v{i}" for i in range(9, 15)],
        [f"v{i}" for i in range(3, 9)],
        ["v0", "v1", "v2"],
    ]
    assert [p["paging"]["pages"] for p in pages] == [3, 3, 3]
    assert pages[0]["spine"] == [tracker.get_version(f"v{i}").id for i in range(9, 15)]
    assert [t[1] for t in pages[0]["metrics"][0]["timeline"]] == accuracy[9:]
    assert past.status == 400 and "page 3 is past the last" in past.json()["message"]
    # Blame's suspects are the worst steps of each page's own stretch of the main line, at
    # or above the report's suspect rule (>= 3 noise units): page 0 is noise only.
    assert pages[0]["metrics"][0]["suspects"] == []
    (suspect,) = pages[1]["metrics"][0]["suspects"]
    assert suspect["version"] == tracker.get_version("v5").id
    assert suspect["before"] == accuracy[4] and suspect["score"] >= 3


def test_a_version_logged_elsewhere_shows_after_a_refresh(ui_server: str, store: Path) -> None:
    before = request(f"{ui_server}/api/models/{LIVE}/state").json()
    code = (
        "import mlineage as ml, sys; t = ml.Tracker(sys.argv[2], storage=sys.argv[1], "
        "capture_environment=False); t.log(model_path='x.pt', "
        "dataset=ml.DataSnapshot(hash='sha256:api'), name='from-api-test')"
    )
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    subprocess.run([sys.executable, "-c", code, str(store), LIVE], check=True, env=env)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        state = request(f"{ui_server}/api/models/{LIVE}/state").json()
        if state["versions"] == before["versions"] + 1:
            break
        time.sleep(0.2)
    assert state["versions"] == before["versions"] + 1
    assert state["generation"] > before["generation"]
    names = [v["name"] for v in request(f"{ui_server}/api/models/{LIVE}/report").json()["versions"]]
    assert "from-api-test" in names


def test_another_interface_warns_that_the_ui_is_unauthenticated(store: Path) -> None:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlineage",
            "--store",
            str(store),
            "ui",
            "--host",
            "0.0.0.0",
            "--port",
            str(port),
        ],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stderr.readline()  # type: ignore[union-attr]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert "warning" in line and "no authentication" in line and "0.0.0.0" in line


def test_without_the_extra_the_error_names_the_pip_line(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['uvicorn'] = None\n"
        "from mlineage.cli import main\n"
        f"sys.exit(main(['--store', {str(tmp_path)!r}, 'ui']))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 2
    assert "pip install 'mlineage[ui]'" in done.stderr and "Traceback" not in done.stderr
    code = (
        "import sys; sys.modules['starlette'] = None\n"
        "from mlineage.ui import create_app\n"
        "try:\n    create_app('memory://x')\n"
        "except ImportError as exc:\n    print(type(exc).__name__, exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.stdout.startswith(MissingDependency.__name__)
    assert "pip install 'mlineage[ui]'" in done.stdout


@pytest.mark.parametrize(("host", "port"), [("", 8765), ("127.0.0.1", 70000), ("127.0.0.1", True)])
def test_serve_checks_host_and_port(host: str, port: int) -> None:
    from mlineage.errors import InvalidInput
    from mlineage.ui import serve

    with pytest.raises(InvalidInput):
        serve("memory://ui-serve-args", host=host, port=port)


def test_an_alias_moved_elsewhere_shows_after_a_refresh(tmp_path: Path) -> None:
    tracker = ml.Tracker("moves", storage=tmp_path, capture_environment=False)
    first, second = log_named(tracker, "a"), log_named(tracker, "b")
    tracker.set_alias("production", first)
    with running(create_app(tmp_path)) as base:
        before = request(f"{base}/api/models/moves/state").json()
        assert request(f"{base}/api/models/moves").json()["aliases"] == {"production": first.id}
        tracker.set_alias("production", second)  # no new version: only an alias move
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            summary = request(f"{base}/api/models/moves").json()
            if summary["aliases"]["production"] == second.id:
                break
            time.sleep(0.2)
        assert summary["aliases"] == {"production": second.id}
        assert request(f"{base}/api/models/moves/state").json()["generation"] > before["generation"]


def test_nan_in_an_answer_is_null_not_invalid_json() -> None:
    from mlineage.ui._app import _json

    body = _json({"a": [float("nan"), 1.5, {"b": float("inf")}], "c": "nan"}).body
    assert json.loads(body) == {"a": [None, 1.5, {"b": None}], "c": "nan"}


def test_port_zero_serves_on_a_free_port_and_prints_where(store: Path) -> None:
    """``mlineage ui --port 0`` picks a free port and says which, so a script can reach it."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlineage", "--store", str(store), "ui", "--port", "0"],
        env={**os.environ, "PYTHONPATH": str(SRC)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("mlineage ui: serving at http://127.0.0.1:"), line
        base = line.split(" at ")[1].split()[0].rstrip("/")
        assert not base.endswith(":0")
        assert request(base + "/api/models").status == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)
