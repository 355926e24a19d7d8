"""A read-only tracker refuses every write and writes nothing, on a local store and on S3."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import mlineage as ml
from mlineage.storage import open_store
from tests.storage.servers import S3Server


@pytest.fixture(params=["local", "s3"])
def uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "local":
        return str(tmp_path / "store")
    server: S3Server = request.getfixturevalue("s3_env")
    return server.new_uri()


def test_read_only_refuses_every_write(uri: str) -> None:
    writer = ml.Tracker("m", storage=uri)
    first = writer.log(model_path="a.pt", dataset=ml.DataSnapshot(hash="sha256:a"), name="one")
    writer.log(model_path="b.pt", dataset=ml.DataSnapshot(hash="sha256:b"))
    writer.set_alias("production", first)
    before = sorted(open_store(uri).list())

    reader = ml.Tracker.load("m", storage=uri, read_only=True)
    assert reader.read_only
    attempts: dict[str, Callable[[], object]] = {
        "log_version": lambda: reader.log_version(),
        "log": lambda: reader.log(model_path="c.pt", dataset=ml.DataSnapshot(hash="sha256:c")),
        "annotate": lambda: reader.annotate(first, notes="no"),
        "set_alias": lambda: reader.set_alias("production", None),
        "set_status": lambda: reader.set_status(first, "deprecated"),
        "compact": lambda: reader.compact(),
    }
    for what, attempt in attempts.items():
        with pytest.raises(ml.ReadOnlyError):
            attempt()
        assert sorted(open_store(uri).list()) == before, f"{what} wrote something"

    # Reading still works, and sees what the writer does next.
    assert reader.resolve("production") == first
    writer.annotate(first, notes="yes")
    reader.refresh()
    assert [e.notes for e in reader.annotations(first)] == ["yes"]
    assert ml.fsck(uri).ok


def test_read_only_store_refuses_raw_writes(uri: str) -> None:
    ml.Tracker("m", storage=uri).log(model_path="a.pt", dataset=ml.DataSnapshot(hash="sha256:a"))
    store = open_store(uri, read_only=True)
    before = sorted(store.list())
    with pytest.raises(ml.ReadOnlyError):
        store.put("models/m/versions/x.json", b"{}")
    with pytest.raises(ml.ReadOnlyError):
        store.delete(before[0])
    assert sorted(open_store(uri).list()) == before
