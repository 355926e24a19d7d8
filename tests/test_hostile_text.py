"""Text that is not Unicode: lone surrogates ("\\udcff"), which is what ``os.fsdecode`` makes
of a file name that is not UTF-8. Every string that reaches a record either comes back
exactly, or is refused with ``InvalidInput`` naming it; nothing is ever stored altered
(pydantic used to write a dict key with U+FFFD in place of the surrogate, and raise its own
serialisation error for a value), and nothing is half-written.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mlineage as ml
from mlineage import codec
from mlineage.storage import open_store

MODEL = "text"
SRC = Path(__file__).parents[1] / "src"
_stores = itertools.count()

#: Any text, and text with lone surrogates, U+FFFD (which must be kept, not taken for a
#: replaced surrogate), NUL and line separators. (``st.text`` never yields surrogates.)
texts = st.lists(
    st.one_of(
        st.characters(),
        st.characters(categories=["Cs"]),
        st.sampled_from("\ufffd\x00\u2028</>é中"),
    ),
    max_size=12,
).map("".join)


def snapshot(**fields: Any) -> ml.DataSnapshot:
    return ml.DataSnapshot(**{"path": "data/", "hash": "sha256:0", **fields})


def fresh() -> tuple[ml.Tracker, str]:
    uri = f"memory://hostile-text-{next(_stores)}"
    return ml.Tracker(MODEL, storage=uri, capture_environment=False), uri


def keys(uri: str) -> list[str]:
    return sorted(open_store(uri).list(""))


def has_surrogate(text: str) -> bool:
    return any(0xD800 <= ord(c) <= 0xDFFF for c in text)


# Each field: how to log a version with ``s`` in it, and how to read ``s`` back from a
# version loaded by another tracker.
VERSION_FIELDS: dict[str, tuple[Callable[[str], dict[str, Any]], Callable[[Any], Any]]] = {
    "notes": (lambda s: {"notes": s}, lambda v: v.notes),
    "tag": (lambda s: {"tags": [s]}, lambda v: v.tags[0]),
    "model_path": (lambda s: {"model_path": s}, lambda v: v.model_path),
    "metric name": (lambda s: {"metrics": {s: 1.0}}, lambda v: next(iter(v.metrics))),
    "hyperparameter key": (
        lambda s: {"hyperparameters": {s: 1}},
        lambda v: next(iter(v.hyperparameters)),
    ),
    "nested hyperparameter key": (
        lambda s: {"hyperparameters": {"opt": [{s: 1}]}},
        lambda v: next(iter(v.hyperparameters["opt"][0])),
    ),
    "nested hyperparameter value": (
        lambda s: {"hyperparameters": {"opt": {"name": [s]}}},
        lambda v: v.hyperparameters["opt"]["name"][0],
    ),
    "metadata key": (lambda s: {"metadata": {s: "x"}}, lambda v: next(iter(v.metadata))),
    "metadata value": (lambda s: {"metadata": {"origin": s}}, lambda v: v.metadata["origin"]),
    "version name": (lambda s: {"name": s}, lambda v: v.name),
    "dataset path": (lambda s: {"dataset": snapshot(path=s)}, lambda v: v.dataset.path),
    "dataset hash": (lambda s: {"dataset": snapshot(hash=s)}, lambda v: v.dataset.hash),
    "dataset notes": (lambda s: {"dataset": snapshot(notes=s)}, lambda v: v.dataset.notes),
    "dataset schema": (
        lambda s: {"dataset": snapshot(schema_version=s)},
        lambda v: v.dataset.schema_version,
    ),
    "dataset column": (
        lambda s: {"dataset": snapshot(columns={s: "float64"})},
        lambda v: next(iter(v.dataset.columns)),
    ),
    "dataset column dtype": (
        lambda s: {"dataset": snapshot(columns={"x": s})},
        lambda v: v.dataset.columns["x"],
    ),
    "dataset metadata": (
        lambda s: {"dataset": snapshot(metadata={"source": {s: s}})},
        lambda v: next(iter(v.dataset.metadata["source"])),
    ),
}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(field=st.sampled_from(sorted(VERSION_FIELDS)), text=texts)
def test_a_version_field_round_trips_exactly_or_is_refused(field: str, text: str) -> None:
    make, read = VERSION_FIELDS[field]
    tracker, uri = fresh()
    try:
        logged = tracker.log(**{"model_path": "m.pt", "dataset": snapshot(), **make(text)})
    except ml.InvalidInput:  # a surrogate, or what the field refuses anyway ("", "\x1f")
        assert keys(uri) == []  # nothing half-written: not even the store marker
        return
    assert not has_surrogate(text)
    loaded = ml.Tracker.load(MODEL, storage=uri).get_version(logged.id)
    assert read(loaded) == read(logged) == text
    assert loaded == logged


EVENT_FIELDS: dict[str, Callable[[ml.Tracker, str], Any]] = {
    "annotation notes": lambda t, s: t.annotate(t.latest(), notes=s),
    "annotation tag": lambda t, s: t.annotate(t.latest(), tags=[s]),
    "status reason": lambda t, s: t.set_status(t.latest(), "deprecated", reason=s),
    "alias": lambda t, s: t.set_alias(s, t.latest()),
}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(field=st.sampled_from(sorted(EVENT_FIELDS)), text=texts)
def test_an_event_field_round_trips_exactly_or_is_refused(field: str, text: str) -> None:
    tracker, uri = fresh()
    tracker.log(model_path="m.pt", dataset=snapshot())
    before = keys(uri)
    try:
        event = EVENT_FIELDS[field](tracker, text)
    except ml.InvalidInput:
        assert keys(uri) == before
        return
    assert not has_surrogate(text)
    (key,) = set(keys(uri)) - set(before)
    stored = codec.decode_event(open_store(uri).get(key), key)
    assert stored == event
    assert ml.Tracker.load(MODEL, storage=uri).latest() == tracker.latest()


@settings(max_examples=100, deadline=None)
@given(text=texts)
def test_a_model_name_works_or_is_refused(text: str) -> None:
    uri = f"memory://hostile-text-{next(_stores)}"
    try:
        tracker = ml.Tracker(text, storage=uri, capture_environment=False)
    except ml.InvalidName:
        assert keys(uri) == []
        return
    tracker.log(model_path="m.pt", dataset=snapshot())
    assert ml.Tracker.load(text, storage=uri).latest() == tracker.latest()


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"notes": "log of caf\udce9.csv"}, "version.notes"),
        ({"metrics": {"acc@caf\udce9": 0.9}}, "version.metrics key 'acc@caf\\udce9'"),
        ({"hyperparameters": {"data": {"caf\udce9": 1}}}, "version.hyperparameters['data'] key"),
        ({"hyperparameters": {"files": ["a", "caf\udce9"]}}, "version.hyperparameters['files'][1]"),
        ({"tags": ["ok", "\ud800"]}, "version.tags[1]"),
        ({"model_path": "ckpt/caf\udce9.pt"}, "version.model_path"),
        ({"dataset": snapshot(path="data/caf\udce9")}, "version.dataset.path"),
    ],
)
def test_the_refusal_names_the_field_the_position_and_the_remedy(
    fields: dict[str, Any], named: str
) -> None:
    tracker, uri = fresh()
    with pytest.raises(ml.InvalidInput) as info:
        tracker.log(**{"model_path": "m.pt", "dataset": snapshot(), **fields})
    message = str(info.value)
    assert message.startswith(named), message
    assert "lone surrogate" in message and "at position" in message
    assert "decode('utf-8', 'backslashreplace')" in message and "nothing was written" in message
    assert keys(uri) == []


def test_a_constrained_field_is_refused_as_it_is_built() -> None:
    with pytest.raises(ml.InvalidRecord, match=r"^DataSnapshot: hash holds a lone surrogate"):
        ml.DataSnapshot(path="d", hash="sha256:\udcff")


def test_a_genuine_replacement_character_is_stored_as_it_is() -> None:
    tracker, uri = fresh()
    logged = tracker.log(
        model_path="m.pt", dataset=snapshot(), metrics={"acc\ufffd": 0.5}, notes="\ufffd"
    )
    loaded = ml.Tracker.load(MODEL, storage=uri).get_version(logged.id)
    assert loaded.metrics == {"acc\ufffd": 0.5} and loaded.notes == "\ufffd"


# -- a file name that is not UTF-8, for real ------------------------------------------------


def test_a_directory_with_a_non_utf8_file_name_is_stored_losslessly(tmp_path: Path) -> None:
    """Manifests keep such names exactly (as JSON escapes): diff and checkout give the
    bytes name back, for a dataset and for an archived checkpoint directory."""
    data, checkpoint = tmp_path / "data", tmp_path / "ckpt"
    data.mkdir()
    checkpoint.mkdir()
    (data / "ok.csv").write_bytes(b"x\n")
    with open(os.fsencode(checkpoint) + b"/w\xff.bin", "wb") as f:  # not UTF-8
        f.write(b"weights")
    root = tmp_path / "store"
    tracker = ml.Tracker(MODEL, storage=str(root), capture_environment=False)
    first = tracker.log(model_path="m.pt", dataset=ml.DataSnapshot.from_path(data))
    with open(os.fsencode(data) + b"/caf\xe9.csv", "wb") as f:  # Latin-1 "café.csv"
        f.write(b"a,b\n1,2\n")
    snap = ml.DataSnapshot.from_path(data, cache=False)
    second = tracker.log(model_path=str(checkpoint), dataset=snap, archive=True)

    loaded = ml.Tracker.load(MODEL, storage=str(root))
    files = loaded.diff(first.id, second.id).data_files
    assert files is not None
    assert [os.fsencode(name) for name in files.added] == [b"caf\xe9.csv"]
    assert not files.removed and not files.changed
    assert loaded.get_version(second.id).dataset.hash == snap.hash

    out = loaded.checkout(second.id, to=tmp_path / "out").path
    assert out is not None
    assert os.listdir(os.fsencode(out / "model" / "ckpt")) == [b"w\xff.bin"]
    with open(os.fsencode(out / "model" / "ckpt") + b"/w\xff.bin", "rb") as f:
        assert f.read() == b"weights"
    manifest = json.loads((out / "dataset-manifest.json").read_text(encoding="utf-8"))
    assert sorted(os.fsencode(e["path"]) for e in manifest) == [b"caf\xe9.csv", b"ok.csv"]
    assert ml.fsck(str(root)).ok


def test_the_cli_refuses_a_non_utf8_argument_in_one_line(tmp_path: Path) -> None:
    root = tmp_path / "store"
    tracker = ml.Tracker(MODEL, storage=str(root), capture_environment=False)
    version = tracker.log(model_path="m.pt", dataset=snapshot())
    before = sorted(p.name for p in root.rglob("*"))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mlineage.cli",
            "--store",
            str(root),
            "annotate",
            MODEL,
            version.id,
            "--notes",
            b"caf\xe9",
        ],
        capture_output=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"},
        timeout=120,
    )
    stderr = result.stderr.decode()
    assert result.returncode == 2, stderr
    assert stderr.startswith("mlineage: error: annotation.notes holds a lone surrogate '\\udce9'")
    assert "Traceback" not in stderr and stderr.count("\n") == 1
    assert sorted(p.name for p in root.rglob("*")) == before
