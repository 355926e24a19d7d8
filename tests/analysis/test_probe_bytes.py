"""The bytes of probe sets and fingerprints outside a store: the whole document is
checksummed, every header field is checked, format 1 bytes still load."""

from __future__ import annotations

import hashlib
import io
import json
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlineage.analysis import Fingerprint, ProbeSet
from mlineage.errors import CorruptRecord, InvalidInput, StoreFormatError
from mlineage.stats.behaviour import GroupMetrics
from mlineage.stats.calibration import CalibrationResult

FORMAT_1 = Path(__file__).parents[1] / "data" / "arrays-format-1"
MAGIC = b"mlineage-arrays\n"
NESTED = "[" * 100_000 + "]" * 100_000


def _probe(seed: int = 16, n: int = 40) -> ProbeSet:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    return ProbeSet(
        x,
        y=(x[:, 0] > 0).astype(int),
        groups=np.where(x[:, 1] > 0.5, "rare", "common"),
        name="exported",
        group_by="region",
    )


@pytest.fixture
def probe() -> ProbeSet:
    return _probe()


@pytest.fixture
def fingerprint(probe: ProbeSet) -> Fingerprint:
    p1 = 1 / (1 + np.exp(-3 * probe.X[:, 0] - 0.4))
    fp = probe.fingerprint(
        proba=np.stack([1 - p1, p1], axis=1), embeddings=probe.X[:, :2] * 2.0, n_bins=5
    )
    assert fp.accuracy is not None and 0 < fp.accuracy < 1 and len(fp.groups) == 2
    return fp


# -- helpers: the layout, read and rewritten as a tool would -----------------------------


def _split(data: bytes) -> tuple[dict[str, Any], bytes, int]:
    (length,) = struct.unpack_from("<Q", data, len(MAGIC))
    start = len(MAGIC) + 8
    header = json.loads(data[start : start + length])
    return header, data[start + length :], header["format"]


def _rewrite(data: bytes, change: Callable[[dict[str, Any]], None], *, checksum: bool) -> bytes:
    """Edit the JSON header; with ``checksum`` also rewrite the trailing checksum (format 2)
    as an editor that knows the format would. Format 1 keeps its payload checksum."""
    header, rest, fmt = _split(data)
    change(header)
    text = json.dumps(header).encode().replace(b'"NESTED"', NESTED.encode())
    body = MAGIC + struct.pack("<Q", len(text)) + text
    if fmt == 1:
        return body + rest
    body += rest[:-32]
    return body + (hashlib.sha256(body).digest() if checksum else rest[-32:])


def _meta(**changes: Any) -> Callable[[dict[str, Any]], None]:
    def change(header: dict[str, Any]) -> None:
        header["meta"].update(changes)

    return change


def _group(index: int, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(header: dict[str, Any]) -> None:
        header["meta"]["groups"][0][index] = value

    return change


def _format_1(fp: Fingerprint | ProbeSet) -> bytes:
    """The same content in format 1: no trailing checksum, the payload's in the header."""
    header, rest, _ = _split(fp.to_bytes())
    payload = rest[:-32]
    header = {**header, "format": 1, "sha256": hashlib.sha256(payload).hexdigest()}
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    return MAGIC + struct.pack("<Q", len(text)) + text + payload


def _same(a: Fingerprint, b: Fingerprint) -> None:
    assert a.summary() == b.summary() and a.groups == b.groups
    assert a.calibration == b.calibration and a.group_by == b.group_by
    for name in ("predictions", "proba", "embeddings", "classes"):
        left, right = getattr(a, name), getattr(b, name)
        assert (left is None) == (right is None)
        if left is not None:
            np.testing.assert_array_equal(left, right)
            assert left.dtype == right.dtype


# -- old bytes ------------------------------------------------------------------------------


def test_format_1_bytes_written_by_the_previous_release_still_load() -> None:
    # Written by the release before format 2 (tests/data/arrays-format-1, never rewritten).
    probe = ProbeSet.from_bytes((FORMAT_1 / "probe.bin").read_bytes())
    fp = Fingerprint.from_bytes((FORMAT_1 / "fingerprint.bin").read_bytes())
    assert probe.hash == "sha256:84a7772dc7b13eb5b226ada3cbbdce4c4d30e9c66ad46b878e0061a6e7e15197"
    assert (probe.name, probe.group_by, len(probe)) == ("format-1-probe", "region", 12)
    assert fp.probe_hash == probe.hash
    assert fp.summary()["groups"] == {
        "north": {"n": 8, "accuracy": 0.5},
        "south": {"n": 4, "accuracy": 0.5},
    }
    assert (fp.accuracy, fp.group_by, fp.summary()["embedding_dim"]) == (0.5, "region", 4)
    assert fp.calibration is not None and fp.calibration.ece == pytest.approx(0.343939393939)
    # Written again, they are format 2, and read back the same.
    assert _split(fp.to_bytes())[2] == 2 and _split(probe.to_bytes())[2] == 2
    _same(Fingerprint.from_bytes(fp.to_bytes()), fp)
    assert ProbeSet.from_bytes(probe.to_bytes()) == probe


def test_format_1_header_edits_are_caught_by_the_header_checks(fingerprint: Fingerprint) -> None:
    # Format 1 has no checksum over the header; what a tool could edit there must still
    # pass the same checks as format 2's, including the groups adding up to the accuracy.
    old = _format_1(fingerprint)
    _same(Fingerprint.from_bytes(old), fingerprint)
    edited = _rewrite(old, _meta(accuracy=1.0), checksum=False)
    with pytest.raises(CorruptRecord, match="add up"):
        Fingerprint.from_bytes(edited)


# -- tampering ------------------------------------------------------------------------------


def test_an_edited_accuracy_breaks_the_checksum(fingerprint: Fingerprint) -> None:
    data = fingerprint.to_bytes()
    value = json.dumps(fingerprint.accuracy).encode()
    in_place = data.replace(
        b'"accuracy":' + value, b'"accuracy":' + b"0.25".ljust(len(value), b"0")
    )
    assert in_place != data and len(in_place) == len(data)
    rewritten = _rewrite(data, _meta(accuracy=0.25), checksum=False)  # length prefix updated
    for edited in (in_place, rewritten):
        with pytest.raises(CorruptRecord, match="checksum"):
            Fingerprint.from_bytes(edited)


TAMPERED_FINGERPRINTS = {
    "accuracy edited (groups disagree)": _meta(accuracy=0.25),
    "accuracy above 1": _meta(accuracy=1.5),
    "accuracy nan": _meta(accuracy=float("nan")),
    "accuracy a string": _meta(accuracy="0.5"),
    "accuracy a bool": _meta(accuracy=True),
    "group size nan": _group(1, float("nan")),
    "group size negative": _group(1, -3),
    "group size zero": _group(1, 0),
    "group size a float": _group(1, 12.0),
    "group size a string": _group(1, "12"),
    "group accuracy nan": _group(2, float("nan")),
    "group accuracy negative": _group(2, -0.5),
    "group label a list": _group(0, ["common"]),
    "group label null": _group(0, None),
    "group of two fields": lambda h: h["meta"]["groups"][0].pop(),
    "groups an object": _meta(groups={"common": [1, 1.0]}),
    "group listed twice": lambda h: h["meta"]["groups"].append(h["meta"]["groups"][0]),
    "groups short of the rows": lambda h: h["meta"]["groups"].pop(),
    "group_by a number": _meta(group_by=5),
    "group_by a list": _meta(group_by=["region"]),
    "group_by empty": _meta(group_by=""),
    "probe_hash a number": _meta(probe_hash=7),
    "probe_hash not sha256": _meta(probe_hash="md5:00"),
    "calibration ece a string": lambda h: h["meta"]["calibration"].update(ece="0.1"),
    "calibration counts off": lambda h: h["meta"]["calibration"]["count"].__setitem__(0, 999),
    "calibration count negative": lambda h: h["meta"]["calibration"]["count"].__setitem__(0, -1),
    "calibration a list": _meta(calibration=[0.1]),
    "unknown meta field": _meta(verified=True),
    "meta field missing": lambda h: h["meta"].pop("groups"),
    "meta a list": lambda h: h.update(meta=[]),
    "meta nested 100,000 deep": _meta(note="NESTED"),
    "array bytes a string": lambda h: h["arrays"][0].update(bytes=str(h["arrays"][0]["bytes"])),
    "array bytes negative": lambda h: h["arrays"][0].update(bytes=-1),
    "array bytes a bool": lambda h: h["arrays"][0].update(bytes=True),
    "array name a number": lambda h: h["arrays"][0].update(name=0),
    "array listed twice": lambda h: h["arrays"].append(h["arrays"][0]),
    "arrays an object": lambda h: h.update(arrays={}),
    "unknown array": lambda h: h["arrays"][1].update(name="logits"),
    "kind probe": lambda h: h.update(kind="probe"),
    "format a string": lambda h: h.update(format="2"),
    "format 0": lambda h: h.update(format=0),
    "unknown header field": lambda h: h.update(signed="yes"),
}


@pytest.mark.parametrize("edit", TAMPERED_FINGERPRINTS, ids=list(TAMPERED_FINGERPRINTS))
@pytest.mark.parametrize("checksum", [False, True], ids=["checksum kept", "checksum rewritten"])
def test_every_tampered_fingerprint_header_is_a_typed_error(
    fingerprint: Fingerprint, edit: str, checksum: bool
) -> None:
    data = _rewrite(fingerprint.to_bytes(), TAMPERED_FINGERPRINTS[edit], checksum=checksum)
    with pytest.raises(CorruptRecord):
        Fingerprint.from_bytes(data)


@pytest.mark.parametrize("edit", TAMPERED_FINGERPRINTS, ids=list(TAMPERED_FINGERPRINTS))
def test_every_tampered_format_1_header_is_a_typed_error(
    fingerprint: Fingerprint, edit: str
) -> None:
    data = _rewrite(_format_1(fingerprint), TAMPERED_FINGERPRINTS[edit], checksum=False)
    with pytest.raises(CorruptRecord):
        Fingerprint.from_bytes(data)


TAMPERED_PROBES = {
    "name a number": _meta(name=5),
    "name null": _meta(name=None),
    "group_by a number": _meta(group_by=1),
    "group_by empty": _meta(group_by=""),
    "hash edited": _meta(hash="sha256:" + "0" * 64),
    "hash a number": _meta(hash=0),
    "unknown meta field": _meta(owner="me"),
    "name missing": lambda h: h["meta"].pop("name"),
    "meta nested 100,000 deep": _meta(name="NESTED"),
    "unknown array": lambda h: h["arrays"][1].update(name="weights"),
}


@pytest.mark.parametrize("edit", TAMPERED_PROBES, ids=list(TAMPERED_PROBES))
@pytest.mark.parametrize("fmt", [1, 2])
def test_every_tampered_probe_header_is_a_typed_error(probe: ProbeSet, edit: str, fmt: int) -> None:
    data = probe.to_bytes() if fmt == 2 else _format_1(probe)
    assert ProbeSet.from_bytes(data) == probe
    for checksum in (False, True):
        with pytest.raises(CorruptRecord):
            ProbeSet.from_bytes(_rewrite(data, TAMPERED_PROBES[edit], checksum=checksum))


def test_a_header_nested_100000_deep_is_a_typed_error(probe: ProbeSet) -> None:
    body = MAGIC + struct.pack("<Q", len(NESTED)) + NESTED.encode()
    for data in (body, body + hashlib.sha256(body).digest()):
        for read in (ProbeSet.from_bytes, Fingerprint.from_bytes):
            with pytest.raises(CorruptRecord, match="nested too deeply"):
                read(data)


def test_a_newer_format_says_upgrade_only_when_intact(fingerprint: Fingerprint) -> None:
    def newer(header: dict[str, Any]) -> None:
        header["format"] = 3

    with pytest.raises(StoreFormatError, match="upgrade"):
        Fingerprint.from_bytes(_rewrite(fingerprint.to_bytes(), newer, checksum=True))
    # "format":2 damaged into "format":3 is damage, not a newer release
    damaged = fingerprint.to_bytes().replace(b'"format":2', b'"format":3', 1)
    with pytest.raises(CorruptRecord, match="checksum"):
        Fingerprint.from_bytes(damaged)


def test_an_array_header_claiming_a_huge_shape_is_refused_before_allocating(
    probe: ProbeSet,
) -> None:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": "<f8", "fortran_order": False, "shape": (10**12, 3)}
    )
    npy = buffer.getvalue() + b"\0" * 24
    header = {
        "format": 2,
        "kind": "probe",
        "meta": {"name": "x", "hash": probe.hash, "group_by": "group"},
        "arrays": [{"name": "X", "bytes": len(npy)}],
    }
    text = json.dumps(header).encode()
    body = MAGIC + struct.pack("<Q", len(text)) + text + npy
    with pytest.raises(CorruptRecord, match="needs 24000000000000 bytes"):
        ProbeSet.from_bytes(body + hashlib.sha256(body).digest())


# -- every single byte --------------------------------------------------------------------


def test_every_single_byte_flip_of_a_fingerprint_is_detected(fingerprint: Fingerprint) -> None:
    # 0x01 keeps ASCII ASCII ("1.0" -> "0.0" in the header), 0xFF makes it invalid UTF-8.
    data = fingerprint.to_bytes()
    for at in range(len(data)):
        for xor in (0x01, 0xFF):
            flipped = bytearray(data)
            flipped[at] ^= xor
            with pytest.raises(CorruptRecord):
                Fingerprint.from_bytes(bytes(flipped))


@given(seed=st.integers(0, 2**16), at=st.floats(0, 1, exclude_max=True), xor=st.integers(1, 255))
@settings(max_examples=300, deadline=None)
def test_any_single_byte_change_is_detected(seed: int, at: float, xor: int) -> None:
    probe = _probe(seed, n=3 + seed % 40)
    fp = probe.fingerprint(predictions=(probe.X[:, 2] > 0).astype(int))
    for data, read in (
        (fp.to_bytes(), Fingerprint.from_bytes),
        (probe.to_bytes(), ProbeSet.from_bytes),
    ):
        changed = bytearray(data)
        changed[int(at * len(data))] ^= xor
        with pytest.raises(CorruptRecord):
            read(bytes(changed))  # type: ignore[operator]


# -- round trip -----------------------------------------------------------------------------


@given(
    n=st.integers(1, 60),
    seed=st.integers(0, 2**16),
    with_y=st.booleans(),
    with_groups=st.booleans(),
    with_proba=st.booleans(),
    with_embeddings=st.booleans(),
    classes=st.integers(2, 4),
    label_kind=st.sampled_from(["int", "str"]),
)
@settings(max_examples=80, deadline=None)
def test_round_trip(
    n: int,
    seed: int,
    with_y: bool,
    with_groups: bool,
    with_proba: bool,
    with_embeddings: bool,
    classes: int,
    label_kind: str,
) -> None:
    rng = np.random.default_rng(seed)
    names = np.array(["a", "b", "c", "d"][:classes]) if label_kind == "str" else np.arange(classes)
    y = names[rng.integers(0, classes, n)] if with_y else None
    groups = rng.choice(["north", "south", "east"], n) if with_groups else None
    probe = ProbeSet(rng.normal(size=(n, 2)), y, groups, name=f"p{seed}", group_by="zone")
    assert ProbeSet.from_bytes(probe.to_bytes()) == probe
    proba = rng.dirichlet(np.ones(classes), n) if with_proba else None
    fp = probe.fingerprint(
        predictions=names[rng.integers(0, classes, n)],
        proba=proba,
        embeddings=rng.normal(size=(n, 3)) if with_embeddings else None,
        classes=names if with_proba else None,
    )
    data = fp.to_bytes()
    back = Fingerprint.from_bytes(data)
    _same(back, fp)
    assert back.to_bytes() == data


# -- the constructor refuses what from_bytes would ----------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"accuracy": 1.5},
        {"accuracy": True},
        {"accuracy": 0.5, "groups": [GroupMetrics("a", 0, 1.0), GroupMetrics("b", 2, 0.5)]},
        {"accuracy": 0.5, "groups": [GroupMetrics("a", 2, 0.5)]},  # 2 of 4 rows
        {"accuracy": 1.0, "groups": [GroupMetrics("a", 2, 0.5), GroupMetrics("b", 2, 0.5)]},
        {"accuracy": 0.5, "groups": [GroupMetrics("a", 2, 0.5), GroupMetrics("a", 2, 0.5)]},
        {"accuracy": 0.5, "groups": [GroupMetrics("a", 2, 0.3), GroupMetrics("b", 2, 0.7)]},
        {"groups": [GroupMetrics("a", 2, 0.5), GroupMetrics("b", 2, 0.5)]},  # no accuracy
        {"accuracy": 0.5, "groups": [("a", 2, 0.5), ("b", 2, 0.5)]},
        {"group_by": 5},
        {"group_by": ""},
        {
            "accuracy": 0.5,
            "calibration": CalibrationResult.from_dict(
                {
                    "ece": 0.1,
                    "mce": 0.1,
                    "n": 1,
                    "edges": [0.0, 1.0],
                    "count": [1],
                    "confidence": [0.9],
                    "accuracy": [1.0],
                }
            ),
        },
    ],
)
def test_the_constructor_refuses_what_from_bytes_would(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput):
        Fingerprint("sha256:" + "0" * 64, [0, 1, 0, 1], **kwargs)
    ok = Fingerprint(
        "sha256:" + "0" * 64,
        [0, 1, 0, 1],
        accuracy=0.5,
        groups=[GroupMetrics("a", 2, 0.5), GroupMetrics("b", 2, 0.5)],
    )
    _same(Fingerprint.from_bytes(ok.to_bytes()), ok)


# -- verified reads (a blob read by its key): the checks that the key already made are skipped


def test_a_verified_read_gives_the_same_objects(probe: ProbeSet, fingerprint: Fingerprint) -> None:
    for data in (probe.to_bytes(), _format_1(probe)):
        loaded = ProbeSet.from_bytes(data, verified=True)
        assert loaded == probe and loaded.hash == probe.hash
        np.testing.assert_array_equal(loaded.group_labels, probe.group_labels)
    _same(Fingerprint.from_bytes(fingerprint.to_bytes(), verified=True), fingerprint)


def test_a_verified_read_skips_only_the_checksum(fingerprint: Fingerprint) -> None:
    # The trailing checksum is what a blob key already guarantees: a verified read does
    # not compute it again; every header field is still checked.
    data = fingerprint.to_bytes()
    wrong_digest = data[:-32] + bytes(32)
    with pytest.raises(CorruptRecord, match="checksum"):
        Fingerprint.from_bytes(wrong_digest)
    _same(Fingerprint.from_bytes(wrong_digest, verified=True), fingerprint)
    for edit in TAMPERED_FINGERPRINTS.values():
        with pytest.raises(CorruptRecord):
            Fingerprint.from_bytes(_rewrite(data, edit, checksum=True), verified=True)


@pytest.mark.parametrize("edit", [e for e in TAMPERED_PROBES if e != "hash edited"])
def test_a_verified_probe_read_still_checks_every_field(probe: ProbeSet, edit: str) -> None:
    with pytest.raises(CorruptRecord):
        ProbeSet.from_bytes(
            _rewrite(probe.to_bytes(), TAMPERED_PROBES[edit], checksum=True), verified=True
        )
