"""Evidence events: attaching tools' output to versions, listing it, reading it back."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mlineage as ml
from mlineage import evidence as evidence_module
from mlineage.storage import MemoryStore, PutMode
from tests.storage.servers import GCSServer, S3Server

REPORT = {"metrics": [{"metric": "DriftedColumnsCount", "value": {"count": 1, "share": 0.5}}]}


def log(tracker: ml.Tracker, i: int, **fields: Any) -> ml.ModelVersion:
    return tracker.log(
        model_path=f"m{i}.pt", dataset=ml.DataSnapshot(hash=f"sha256:{i:064x}"), **fields
    )


@pytest.fixture
def tracker(tmp_path: Path) -> ml.Tracker:
    return ml.Tracker("m", storage=str(tmp_path / "store"), capture_environment=False)


def test_payload_and_summary_round_trip_and_the_blob_is_written_first() -> None:
    class Recording(MemoryStore):
        """A memory store that remembers the order of its writes."""

        def __init__(self) -> None:
            super().__init__()
            self.written: list[str] = []

        def put(self, key: str, data: bytes, *, mode: PutMode = "create") -> None:
            super().put(key, data, mode=mode)
            self.written.append(key)

    store = Recording()
    tracker = ml.Tracker("m", storage=store, capture_environment=False)
    version = log(tracker, 0)
    text = '{"metrics": [1, 2.5, "x", null, true], "note": "drift ✓"}'
    event = tracker.attach_evidence(
        version,
        "evidently",
        text,
        {"drift_share": 0.5, "drifted": ["amount", "velocity"], "ok": False, "n": 3},
        tool="evidently",
        tool_version="0.7.4",
    )
    assert store.written[-2:] == [event.payload, f"models/m/events/{event.id}.json"]
    assert event.payload_size == len(text.encode()) and event.media_type == "application/json"
    assert tracker.load_evidence(event, raw=True) == text.encode()  # byte for byte
    assert tracker.load_evidence(event.id) == json.loads(text)
    again = ml.Tracker.load("m", storage=store)
    (loaded,) = again.evidence()
    assert loaded == event
    assert loaded.summary["n"] == 3 and loaded.summary["ok"] is False
    # bytes are kept as given; a dict is stored as compact JSON in its own order
    as_bytes = tracker.attach_evidence(version, "raw", text.encode())
    assert as_bytes.payload == event.payload  # the same content: one blob
    as_dict = tracker.attach_evidence(version, "evidently", REPORT)
    assert (
        tracker.load_evidence(as_dict, raw=True)
        == json.dumps(REPORT, separators=(",", ":")).encode()
    )
    summary_only = tracker.attach_evidence(version, "gate", summary={"passed": True})
    assert summary_only.payload is None and summary_only.payload_size is None
    with pytest.raises(ml.EvidenceNotFound, match="without a payload"):
        tracker.load_evidence(summary_only)


@pytest.mark.parametrize(
    ("arguments", "error", "words"),
    [
        ({"kind": "evidently/2"}, ml.InvalidInput, "evidence kind"),
        ({"payload_json": '{"share": NaN}'}, ml.InvalidInput, "NaN"),
        ({"payload_json": {"share": float("nan")}}, ml.InvalidInput, "cannot be stored as JSON"),
        ({"payload_json": "{'single': 'quotes'}"}, ml.InvalidInput, "not JSON"),
        ({"payload_json": b"\xff\xfe{}"}, ml.InvalidInput, "not UTF-8"),
        ({"payload_json": 42}, ml.InvalidInput, "JSON text"),
        ({"payload_json": "[" * 100_000 + "]" * 100_000}, ml.InvalidInput, "too deeply"),
        ({"summary": {"nested": {"a": 1}}}, ml.InvalidInput, r"summary\['nested'\]"),
        ({"summary": {"x": float("inf")}}, ml.InvalidInput, r"summary\['x'\]"),
        ({"summary": {"x": "y" * 20_000}}, ml.InvalidInput, "limit is 16,384"),
        ({"summary": {1: "a"}}, ml.InvalidInput, "keys are str"),
        ({"summary": ["not", "a", "dict"]}, ml.InvalidInput, "must be a dict"),
        ({"summary": None, "payload_json": None}, ml.InvalidInput, "needs a payload"),
        ({"tool": ""}, ml.InvalidInput, "tool must be"),
        ({"tool_version": "1\n2"}, ml.InvalidInput, "tool_version must be"),
        ({"ref": "no-such-version"}, ml.VersionNotFound, "no-such-version"),
    ],
)
def test_bad_input_is_a_typed_error_and_writes_nothing(
    tracker: ml.Tracker, arguments: dict[str, Any], error: type[Exception], words: str
) -> None:
    version = log(tracker, 0)
    call = {"ref": version, "kind": "checks", "payload_json": "{}", "summary": {"a": 1}}
    call.update(arguments)
    before = sorted(tracker.store.list())
    with pytest.raises(error, match=words):
        tracker.attach_evidence(**call)
    assert sorted(tracker.store.list()) == before
    assert len(tracker.evidence()) == 0


def test_a_payload_over_the_limit_is_refused(
    tracker: ml.Tracker, monkeypatch: pytest.MonkeyPatch
) -> None:
    version = log(tracker, 0)
    monkeypatch.setattr(evidence_module, "MAX_PAYLOAD_BYTES", 1000)
    before = sorted(tracker.store.list())
    with pytest.raises(ml.PayloadTooLarge, match="1,001 bytes; the limit is 1,000") as info:
        tracker.attach_evidence(version, "big", "[" + "0," * 499 + "0]")
    assert isinstance(info.value, ml.InvalidInput)
    assert sorted(tracker.store.list()) == before


def test_read_only_trackers_attach_nothing(tracker: ml.Tracker) -> None:
    version = log(tracker, 0)
    reader = ml.Tracker.load("m", storage=tracker.store, read_only=True)
    with pytest.raises(ml.ReadOnlyError, match="attach evidence"):
        reader.attach_evidence(version, "checks", summary={"a": 1})


def test_listing_newest_first_by_kind_and_along_a_history(tracker: ml.Tracker) -> None:
    root = log(tracker, 0, name="root")
    main = log(tracker, 1, name="main")
    side = log(tracker, 2, parent=root, name="side")
    first = tracker.attach_evidence(root, "evidently", summary={"drift_share": 0.1})
    second = tracker.attach_evidence(main, "gate", summary={"passed": True})
    third = tracker.attach_evidence(main, "evidently", summary={"drift_share": 0.4})
    fourth = tracker.attach_evidence(side, "evidently", summary={"drift_share": 0.9})
    assert list(tracker.evidence()) == [fourth, third, second, first]
    assert list(tracker.evidence(kind="evidently")) == [fourth, third, first]
    along = tracker.evidence(kind="evidently", on="main")
    assert list(along) == [third, first] and along.on == main.id  # not the side branch
    assert list(tracker.evidence(on=main)) == [third, second, first]
    assert len(tracker.evidence(kind="nannyml")) == 0
    assert "none" in str(tracker.evidence(kind="nannyml"))
    with pytest.raises(ml.InvalidInput, match="evidence kind"):
        tracker.evidence(kind="no spaces")
    table = tracker.evidence(on=main)
    data = table.to_dict()
    assert data["on"] == main.id and data["kind"] is None
    assert [row["version_name"] for row in data["evidence"]] == ["main", "main", "root"]
    assert json.loads(json.dumps(data)) == data
    text = str(table)
    assert text.startswith("3 evidence along the history of")
    assert '"drift_share": 0.4' in text and "main" in text
    html = table._repr_html_()
    assert "<table" in html and "drift_share" in html
    frame = table.to_pandas()
    assert list(frame.index) == [third.id, second.id, first.id]
    assert frame["summary.drift_share"].tolist()[0] == 0.4
    assert frame["summary.passed"].tolist()[1] is True
    assert str(frame["created_at"].dt.tz) == "UTC"
    assert table[0] == third and len(table) == 3 and bool(table)


def test_damaged_or_missing_payloads(tracker: ml.Tracker, tmp_path: Path) -> None:
    version = log(tracker, 0)
    event = tracker.attach_evidence(version, "evidently", REPORT)
    assert event.payload is not None
    blob = tmp_path / "store" / event.payload
    blob.write_bytes(blob.read_bytes().replace(b"0.5", b"0.6"))
    with pytest.raises(ml.HashMismatch, match="evidence payload"):
        tracker.load_evidence(event)
    report = ml.fsck(str(tmp_path / "store"))
    assert [p.kind for p in report.problems] == ["bad-blob"]
    blob.unlink()
    with pytest.raises(ml.CorruptRecord, match="is missing"):
        tracker.load_evidence(event)
    report = ml.fsck(str(tmp_path / "store"))
    assert [(p.kind, p.key) for p in report.problems] == [("missing-blob", event.payload)]
    assert "evidence payload blob of models/m/events/" in report.problems[0].message
    with pytest.raises(ml.EvidenceNotFound, match="no evidence event"):
        tracker.load_evidence("0" * 32)
    annotation = tracker.annotate(version, notes="not evidence")
    with pytest.raises(ml.EvidenceNotFound):
        tracker.load_evidence(annotation.id)


def test_evidence_survives_compaction(tracker: ml.Tracker) -> None:
    versions = [log(tracker, i) for i in range(3)]
    events = [
        tracker.attach_evidence(v, "checks", {"i": i}, {"i": i}) for i, v in enumerate(versions)
    ]
    assert tracker.compact() == 6
    assert list(tracker.store.list("models/m/events/")) == []
    loaded = ml.Tracker.load("m", storage=tracker.store)
    assert list(loaded.evidence()) == events[::-1]
    assert [loaded.load_evidence(e) for e in events] == [{"i": 0}, {"i": 1}, {"i": 2}]
    assert ml.fsck(tracker.store).ok


@pytest.fixture(params=["memory", "local", "s3", "gcs"])
def uri(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "memory":
        yield f"memory://evidence-{uuid.uuid4().hex}"
    elif request.param == "local":
        yield str(tmp_path / "store")
    else:
        server: S3Server | GCSServer = request.getfixturevalue(f"{request.param}_env")
        yield server.new_uri()


def test_evidence_round_trips_on_every_backend(uri: str) -> None:
    tracker = ml.Tracker("m", storage=uri, capture_environment=False)
    version = log(tracker, 0)
    event = tracker.attach_evidence(version, "evidently", REPORT, {"drift_share": 0.5})
    tracker.compact()
    later = tracker.attach_evidence(version, "gate", summary={"passed": True})
    loaded = ml.Tracker.load("m", storage=uri, read_only=True)
    assert list(loaded.evidence(on=version)) == [later, event]
    assert loaded.load_evidence(event) == REPORT
    report = ml.fsck(uri)
    assert report.ok and report.checked["events"] == 2, str(report)


flat_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**53), 2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)
json_values = st.recursive(
    flat_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=15,
)


@settings(max_examples=50, deadline=None)
@given(
    st.dictionaries(
        st.text(min_size=1, max_size=20),
        flat_scalars | st.lists(flat_scalars, max_size=4),
        max_size=6,
    ),
    json_values,
)
def test_any_small_summary_and_json_payload_round_trip(
    summary: dict[str, Any], payload: Any
) -> None:
    store = f"memory://evidence-{uuid.uuid4().hex}"
    tracker = ml.Tracker("m", storage=store, capture_environment=False)
    version = log(tracker, 0)
    event = tracker.attach_evidence(version, "checks", {"value": payload}, summary or {"x": 1})
    (loaded,) = ml.Tracker.load("m", storage=store).evidence()
    assert loaded == event
    assert loaded.summary == (summary or {"x": 1})
    assert all(type(loaded.summary[k]) is type(v) for k, v in (summary or {}).items())
    assert tracker.load_evidence(event) == {"value": payload}
