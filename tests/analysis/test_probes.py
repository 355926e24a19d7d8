"""Probe sets, fingerprints, their bytes, and BehaviorDiff."""

from __future__ import annotations

import doctest
import hashlib
import io
import json
import math
import re
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mlineage.errors import CorruptRecord, InvalidInput, StoreFormatError, UnhashableData
from mlineage.stats import _arrays, _compare, _fingerprint, _probeset, probes
from mlineage.stats.behaviour import churn, negative_flip_rate
from mlineage.stats.probes import (
    BehaviorDiff,
    Fingerprint,
    ProbeSet,
    churn_between,
    compare_fingerprints,
)
from mlineage.stats.representation import linear_cka


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(7)


@pytest.fixture
def probe(rng: np.random.Generator) -> ProbeSet:
    X = rng.normal(size=(103, 4))  # noqa: N806
    y = (X[:, 0] > 0).astype(int)
    groups = np.where(X[:, 1] > 1.0, "rare", "common")
    return ProbeSet(X, y, groups, name="unit")


class Counting:
    """A model whose callables count their calls and check what they receive."""

    def __init__(self, threshold: float = 0.0) -> None:
        self.threshold = threshold
        self.calls: dict[str, int] = {"predict": 0, "predict_proba": 0, "embed": 0}

    def predict(self, batch: np.ndarray) -> list[int]:
        self.calls["predict"] += 1
        assert isinstance(batch, np.ndarray)
        return [int(v) for v in batch[:, 0] > self.threshold]  # a list, not an array

    def predict_proba(self, batch: np.ndarray) -> np.ndarray:
        self.calls["predict_proba"] += 1
        p1 = 1.0 / (1.0 + np.exp(-(batch[:, 0] - self.threshold) * 3))
        return np.column_stack([1 - p1, p1])

    def embed(self, batch: np.ndarray) -> np.ndarray:
        self.calls["embed"] += 1
        batch[:] = 0.0  # in-place mischief must not reach the probe set
        return np.ones((batch.shape[0], 2, 3))


# ---------------------------------------------------------------------------- probe sets


def test_hash_depends_on_content_only(probe: ProbeSet) -> None:
    again = ProbeSet(probe.X.copy(), probe.y.copy(), probe.groups.copy(), name="other")
    assert again.hash == probe.hash
    assert again != probe  # names differ
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", probe.hash)
    changed_x = probe.X.copy()
    changed_x[5, 2] += 1e-9
    assert ProbeSet(changed_x, probe.y, probe.groups).hash != probe.hash
    assert ProbeSet(probe.X, probe.y).hash != probe.hash
    assert ProbeSet(probe.X.astype(np.float32), probe.y, probe.groups).hash != probe.hash
    assert ProbeSet(probe.X, None, probe.y).hash != ProbeSet(probe.X, probe.y).hash


def test_hash_is_stable_across_releases() -> None:
    # Pinned: a change here orphans every stored fingerprint.
    probe = ProbeSet(np.arange(6, dtype="<f8").reshape(3, 2), np.array([0, 1, 0], "<i8"))
    assert probe.hash == "sha256:d41cf6aa9c653c0e2c527073cc49f7c7aa4ae9b44b570e117902ffc040a0a2d9"


def test_probe_is_read_only_and_copied() -> None:
    X = np.zeros((3, 2))  # noqa: N806
    probe = ProbeSet(X)
    X[0, 0] = 1.0
    assert probe.X[0, 0] == 0.0
    with pytest.raises(ValueError, match="read-only"):
        probe.X[0, 0] = 2.0


def test_probe_bad_input() -> None:
    with pytest.raises(UnhashableData, match="pickle"):
        ProbeSet(np.array([{"a": 1}, None], dtype=object))
    with pytest.raises(UnhashableData):
        ProbeSet(np.zeros((2, 1)), groups=np.array(["a", None], dtype=object))
    with pytest.raises(InvalidInput, match="at least one row"):
        ProbeSet(np.zeros((0, 3)))
    with pytest.raises(InvalidInput, match="y has 2 rows"):
        ProbeSet(np.zeros((3, 1)), y=[0, 1])
    with pytest.raises(InvalidInput, match="nan"):
        ProbeSet(np.zeros((2, 1)), y=[0.0, np.nan])
    with pytest.raises(InvalidInput, match="structured"):
        ProbeSet(np.zeros(2, dtype=[("a", "f8"), ("b", "i4")]))
    with pytest.raises(InvalidInput, match="name"):
        ProbeSet(np.zeros((2, 1)), name=3)  # type: ignore[arg-type]


def test_text_probe_and_string_groups() -> None:
    probe = ProbeSet(["good film", "bad film"], y=["pos", "neg"], groups=["en", "en"])
    assert probe.X.dtype.kind == "U"
    back = ProbeSet.from_bytes(probe.to_bytes())
    assert back == probe
    assert back.X.tolist() == ["good film", "bad film"]
    fp = probe.evaluate(predict=lambda b: ["pos" if "good" in t else "neg" for t in b])
    assert fp.accuracy == 1.0


@settings(max_examples=40, deadline=None)
@given(
    hnp.arrays(
        dtype=st.sampled_from([np.float64, np.float32, np.int16, np.uint8, np.bool_]),
        shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5),
    ),
    st.booleans(),
    st.booleans(),
    st.text(max_size=10),
)
def test_probe_bytes_round_trip(X: np.ndarray, with_y: bool, with_groups: bool, name: str) -> None:  # noqa: N803
    n = X.shape[0]
    y = np.arange(n) % 3 if with_y else None
    groups = np.array([f"g{i % 2}" for i in range(n)]) if with_groups else None
    probe = ProbeSet(X, y, groups, name=name)
    data = probe.to_bytes()
    back = ProbeSet.from_bytes(data)
    assert back == probe
    assert back.hash == probe.hash
    np.testing.assert_array_equal(back.X, probe.X)
    assert back.X.dtype == probe.X.dtype
    assert back.to_bytes() == data  # deterministic: blobs deduplicate


def test_corrupt_probe_bytes(probe: ProbeSet) -> None:
    data = probe.to_bytes()
    with pytest.raises(CorruptRecord, match="not a serialised"):
        ProbeSet.from_bytes(b"PK\x03\x04" + data)
    with pytest.raises(CorruptRecord):
        ProbeSet.from_bytes(data[:-10])
    with pytest.raises(CorruptRecord):
        ProbeSet.from_bytes(data[:20])
    flipped = bytearray(data)
    flipped[-5] ^= 0xFF
    with pytest.raises(CorruptRecord, match="checksum"):
        ProbeSet.from_bytes(bytes(flipped))
    fp = probe.fingerprint(predictions=probe.y)
    with pytest.raises(CorruptRecord, match="'fingerprint', not a 'probe'"):
        ProbeSet.from_bytes(fp.to_bytes())


def _rewrite_header(data: bytes, change: Any) -> bytes:
    """Edit the header as a tool would that also rewrites the trailing checksum."""
    start = len(b"mlineage-arrays\n")
    (length,) = struct.unpack_from("<Q", data, start)
    header = json.loads(data[start + 8 : start + 8 + length])
    change(header)
    text = json.dumps(header).encode()
    body = data[:start] + struct.pack("<Q", len(text)) + text + data[start + 8 + length : -32]
    return body + hashlib.sha256(body).digest()


def test_probe_bytes_with_a_wrong_hash_or_newer_format(probe: ProbeSet) -> None:
    data = probe.to_bytes()

    def wrong_hash(header: dict[str, Any]) -> None:
        header["meta"]["hash"] = "sha256:" + "0" * 64

    with pytest.raises(CorruptRecord, match="hashes to"):
        ProbeSet.from_bytes(_rewrite_header(data, wrong_hash))

    def newer(header: dict[str, Any]) -> None:
        header["format"] = 99

    with pytest.raises(StoreFormatError, match="upgrade"):
        ProbeSet.from_bytes(_rewrite_header(data, newer))


def test_no_pickle_in_the_container(probe: ProbeSet) -> None:
    # Every blob loads with allow_pickle=False; an object array smuggled in is refused.
    data = _rewrite_header(probe.to_bytes(), lambda h: None)
    assert ProbeSet.from_bytes(data) == probe
    buffer = io.BytesIO()
    np.save(buffer, np.array([1, "a"], dtype=object), allow_pickle=True)
    evil = _arrays._MAGIC  # build a container whose X blob needs pickle
    blob = buffer.getvalue()
    header = {
        "format": 1,
        "kind": "probe",
        "meta": {"name": "x", "hash": "sha256:" + "0" * 64},
        "arrays": [{"name": "X", "bytes": len(blob)}],
        "sha256": hashlib.sha256(blob).hexdigest(),
    }
    text = json.dumps(header).encode()
    with pytest.raises(CorruptRecord, match="pickle"):
        ProbeSet.from_bytes(evil + struct.pack("<Q", len(text)) + text + blob)


# ---------------------------------------------------------------------------- evaluate


@pytest.mark.parametrize("batch_size", [1, 10, 103, 1024])
def test_evaluate_in_batches_equals_one_shot(probe: ProbeSet, batch_size: int) -> None:
    model = Counting()
    fp = probe.evaluate(model.predict, model.predict_proba, model.embed, batch_size=batch_size)
    expected_calls = math.ceil(len(probe) / batch_size)
    assert model.calls == dict.fromkeys(model.calls, expected_calls)
    one_shot = Counting()
    np.testing.assert_array_equal(fp.predictions, one_shot.predict(probe.X.copy()))
    np.testing.assert_allclose(fp.proba, one_shot.predict_proba(probe.X.copy()))
    assert fp.embeddings is not None
    assert fp.embeddings.shape == (103, 6)  # trailing axes flattened
    assert fp.probe_hash == probe.hash
    assert not probe.X.flags.writeable
    assert np.abs(probe.X).sum() > 0  # embed zeroed its batch, not the probe


def test_evaluate_computes_summary(probe: ProbeSet) -> None:
    model = Counting(threshold=0.1)
    fp = probe.evaluate(model.predict, model.predict_proba)
    y = probe.y
    assert y is not None
    assert fp.accuracy == pytest.approx(np.mean(fp.predictions == y))
    summary = fp.summary()
    json.dumps(summary)
    assert summary["n"] == 103
    assert summary["probe"] == probe.hash
    assert set(summary["groups"]) == {"common", "rare"}
    rare = probe.groups == "rare"
    assert summary["groups"]["rare"]["n"] == int(rare.sum())
    assert summary["groups"]["rare"]["accuracy"] == pytest.approx(
        np.mean(fp.predictions[rare] == y[rare])
    )
    assert summary["ece"] is not None
    assert summary["n_classes"] == 2
    assert summary["embedding_dim"] is None


def test_evaluate_with_predict_proba_only(probe: ProbeSet) -> None:
    model = Counting()
    fp = probe.evaluate(predict_proba=model.predict_proba, batch_size=50)
    np.testing.assert_array_equal(fp.predictions, np.asarray(model.predict(probe.X.copy())))
    named = ProbeSet(probe.X).evaluate(
        predict_proba=lambda b: model.predict_proba(b)[:, 1], classes=["neg", "pos"]
    )
    assert named.predictions.tolist() == np.where(fp.predictions == 1, "pos", "neg").tolist()
    with pytest.raises(InvalidInput, match="never compare equal"):
        probe.evaluate(predict_proba=model.predict_proba, classes=["neg", "pos"])


def test_evaluate_accepts_tensor_like_outputs(probe: ProbeSet) -> None:
    class Tensor:
        def __init__(self, value: np.ndarray) -> None:
            self.value = value

        def detach(self) -> Tensor:
            return self

        def cpu(self) -> Tensor:
            return self

        def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
            return self.value

    fp = probe.evaluate(predict=lambda b: Tensor((b[:, 0] > 0).astype(np.int64)))
    assert fp.accuracy == 1.0


def test_evaluate_wrong_shapes_name_the_callable(probe: ProbeSet) -> None:
    with pytest.raises(InvalidInput, match=r"predict returned 9 rows .* rows 0..9"):
        probe.evaluate(predict=lambda b: np.zeros(len(b) - 1, int), batch_size=10)
    with pytest.raises(InvalidInput, match="embed returned a scalar"):
        probe.evaluate(predict=lambda b: np.zeros(len(b), int), embed=lambda b: 3.0)
    with pytest.raises(InvalidInput, match="one label per row"):
        probe.evaluate(predict=lambda b: np.zeros((len(b), 3)))
    with pytest.raises(InvalidInput, match="sums to"):
        probe.evaluate(predict_proba=lambda b: np.full((len(b), 3), 0.5))
    with pytest.raises(InvalidInput, match=r"\[0, 1\]"):
        probe.evaluate(predict_proba=lambda b: b)
    with pytest.raises(UnhashableData):
        probe.evaluate(predict=lambda b: np.array([None] * len(b)))
    with pytest.raises(InvalidInput, match="consistent"):
        calls = iter([np.zeros(50, int), np.array(["a"] * 50), np.zeros(3, int)])
        probe.evaluate(predict=lambda b: next(calls), batch_size=50)
    with pytest.raises(InvalidInput, match="predict or predict_proba"):
        probe.evaluate(embed=lambda b: b)
    with pytest.raises(InvalidInput, match="batch_size"):
        probe.evaluate(predict=lambda b: b[:, 0], batch_size=0)
    with pytest.raises(InvalidInput, match="callable"):
        probe.evaluate(predict=[0, 1])  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="never compare equal"):
        probe.evaluate(predict=lambda b: np.array(["x"] * len(b)))


def test_errors_from_the_model_propagate(probe: ProbeSet) -> None:
    def broken(batch: np.ndarray) -> np.ndarray:
        raise RuntimeError("CUDA out of memory")

    with pytest.raises(RuntimeError, match="CUDA"):
        probe.evaluate(predict=broken)


def test_fingerprint_bytes_round_trip(probe: ProbeSet, rng: np.random.Generator) -> None:
    model = Counting()
    fp = probe.evaluate(model.predict, model.predict_proba, lambda b: b @ rng.normal(size=(4, 3)))
    data = fp.to_bytes()
    back = Fingerprint.from_bytes(data)
    assert back.to_bytes() == data
    assert back.summary() == fp.summary()
    assert back.calibration == fp.calibration
    assert back.groups == fp.groups
    for name in ("predictions", "proba", "embeddings"):
        np.testing.assert_array_equal(getattr(back, name), getattr(fp, name))
    assert not back.predictions.flags.writeable
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0x01
    with pytest.raises(CorruptRecord):
        Fingerprint.from_bytes(bytes(flipped))
    with pytest.raises(CorruptRecord):
        Fingerprint.from_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptRecord):
        Fingerprint.from_bytes(probe.to_bytes())


def test_fingerprint_without_labels() -> None:
    probe = ProbeSet(np.zeros((3, 1)), groups=["a", "b", "b"])
    fp = probe.fingerprint(predictions=[0, 1, 1], proba=[0.1, 0.9, 0.8])
    assert fp.accuracy is None
    assert fp.calibration is None
    assert fp.summary()["groups"] == {}
    assert Fingerprint.from_bytes(fp.to_bytes()).summary() == fp.summary()


# ---------------------------------------------------------------------------- diffs


def test_rare_group_breaks_while_overall_accuracy_is_flat(rng: np.random.Generator) -> None:
    n = 2000
    groups = np.array(["majority"] * 1900 + ["minority"] * 100)
    y = rng.integers(0, 2, n)
    old = y.copy()
    old[:60] = 1 - y[:60]  # old: 60 majority mistakes
    new = y.copy()
    new[1900:1960] = 1 - y[1900:1960]  # new: fixes those, breaks 60% of the minority
    probe = ProbeSet(np.zeros((n, 1)), y, groups)
    diff = compare_fingerprints(
        probe.fingerprint(predictions=old), probe.fingerprint(predictions=new), probe
    )
    assert diff.accuracy_old == diff.accuracy_new
    assert diff.groups[0].group == "minority"
    assert diff.groups[0].accuracy_delta == pytest.approx(-0.6)
    assert diff.groups[0].negative_flip_rate == pytest.approx(0.6)
    assert diff.negative_flip_rate == pytest.approx(negative_flip_rate(y, old, new))
    assert diff.churn == pytest.approx(churn(old, new))
    assert diff.backward_trust_compatibility == pytest.approx(1 - 60 / 1940)
    assert all(f.kind == "negative" for f in diff.top_flips)
    assert {f.index for f in diff.top_flips} <= set(range(1900, 1960))
    text = str(diff)
    assert text.index("minority") < text.index("majority")
    frame = diff.to_pandas()
    assert frame.index[0] == "minority"
    assert frame.loc["minority", "n"] == 100


def test_rotated_embeddings_keep_cka_scrambled_ones_do_not(rng: np.random.Generator) -> None:
    X = rng.normal(size=(500, 3))  # noqa: N806
    y = (X[:, 0] > 0).astype(int)
    probe = ProbeSet(X, y)
    features = np.tanh(X @ rng.normal(size=(3, 16)))
    q, _ = np.linalg.qr(rng.normal(size=(16, 16)))
    old = probe.fingerprint(predictions=y, embeddings=features)
    rotated = probe.fingerprint(predictions=y, embeddings=2 * features @ q)
    scrambled = probe.fingerprint(predictions=y, embeddings=features[rng.permutation(500)])
    narrower = probe.fingerprint(predictions=y, embeddings=features[:, :5])
    same = compare_fingerprints(old, rotated, probe)
    assert same.linear_cka == pytest.approx(1.0)
    assert same.procrustes_distance == pytest.approx(0.0, abs=1e-9)
    assert same.churn == 0.0
    assert same.top_flips == ()
    moved = compare_fingerprints(old, scrambled, probe)
    assert moved.linear_cka is not None and moved.linear_cka < 0.1
    assert moved.procrustes_distance is not None and moved.procrustes_distance > 1.0
    partial = compare_fingerprints(old, narrower)
    assert partial.linear_cka == pytest.approx(linear_cka(features, features[:, :5]))


def test_constant_embeddings_leave_a_note() -> None:
    probe = ProbeSet(np.arange(4.0).reshape(-1, 1))
    a = probe.fingerprint(predictions=[0, 1, 0, 1], embeddings=np.arange(8.0).reshape(4, 2))
    b = probe.fingerprint(predictions=[0, 1, 0, 1], embeddings=np.ones((4, 2)))
    diff = compare_fingerprints(a, b)
    assert diff.linear_cka is None
    assert any("constant" in note for note in diff.notes)


def test_top_flips_order_by_confidence_drop() -> None:
    y = [1, 1, 1, 0, 0]
    probe = ProbeSet(np.zeros((5, 1)), y)
    old = probe.fingerprint(proba=[0.9, 0.6, 0.99, 0.8, 0.7])  # predicts 1 1 1 1 1
    new = probe.fingerprint(proba=[0.4, 0.45, 0.1, 0.3, 0.9])  # predicts 0 0 0 0 1
    diff = compare_fingerprints(old, new, probe, top=10)
    # Negative flips: rows 0,1,2 with p(label) drops .5, .15, .89; then positive row 3.
    assert [(f.index, f.kind) for f in diff.top_flips] == [
        (2, "negative"),
        (0, "negative"),
        (1, "negative"),
        (3, "positive"),
    ]
    assert diff.top_flips[0].confidence_drop == pytest.approx(0.89)
    assert diff.top_flips[3].confidence_drop == pytest.approx(0.2 - 0.7)
    assert [f.index for f in compare_fingerprints(old, new, probe, top=2).top_flips] == [2, 0]
    assert compare_fingerprints(old, new, probe, top=0).top_flips == ()
    # Without the probe: drop of the old answer's probability.
    unlabelled = compare_fingerprints(old, new, top=10)
    assert [f.index for f in unlabelled.top_flips] == [2, 0, 3, 1]
    assert {f.kind for f in unlabelled.top_flips} == {"changed"}


def test_diff_calibration_and_summaries_without_the_probe(probe: ProbeSet) -> None:
    old = probe.evaluate(predict_proba=Counting(0.0).predict_proba)
    new = probe.evaluate(predict_proba=Counting(0.5).predict_proba)
    full = compare_fingerprints(old, new, probe)
    light = compare_fingerprints(old, new)
    assert full.calibration_old == old.calibration
    assert full.calibration_new is not None and full.calibration_new.ece > 0
    assert light.calibration_new == full.calibration_new
    assert light.accuracy_new == full.accuracy_new
    assert light.negative_flip_rate is None
    assert [g.group for g in light.groups] == [g.group for g in full.groups]
    assert light.groups[0].churn is None
    assert light.notes
    for diff in (full, light):
        payload = json.loads(json.dumps(diff.to_dict()))
        assert payload["churn"] == diff.churn
        assert "ECE (15 bins)" in str(diff)


def test_diff_with_labels_in_named_classes() -> None:
    probe = ProbeSet(np.zeros((3, 1)), ["cat", "dog", "cat"])
    classes = ["dog", "cat"]  # column 0 is "dog"
    old = probe.fingerprint(proba=[[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]], classes=classes)
    new = probe.fingerprint(proba=[[0.6, 0.4], [0.8, 0.2], [0.3, 0.7]], classes=classes)
    diff = compare_fingerprints(old, new, probe)
    assert diff.top_flips[0].kind == "negative"
    assert diff.top_flips[0].confidence_drop == pytest.approx(0.5)
    assert diff.top_flips[0].old == "cat"


def test_fingerprints_of_different_probes_are_refused(probe: ProbeSet) -> None:
    other = ProbeSet(probe.X[:10])
    a = probe.fingerprint(predictions=probe.y)
    b = other.fingerprint(predictions=np.zeros(10, int))
    with pytest.raises(InvalidInput, match="different probe sets"):
        compare_fingerprints(a, b)
    with pytest.raises(InvalidInput, match="different probe sets"):
        churn_between(a, b)
    with pytest.raises(InvalidInput, match="pass the probe set"):
        compare_fingerprints(b, b, probe)
    with pytest.raises(InvalidInput, match="top"):
        compare_fingerprints(a, a, top=-1)
    unlabelled = ProbeSet(probe.X)
    numbers = unlabelled.fingerprint(predictions=probe.y)
    words = unlabelled.fingerprint(predictions=np.where(probe.y == 1, "one", "zero"))
    with pytest.raises(InvalidInput, match="never compare equal"):
        compare_fingerprints(numbers, words)


def test_churn_between(probe: ProbeSet) -> None:
    a = probe.fingerprint(predictions=probe.y)
    flipped = probe.y.copy()
    flipped[:7] = 1 - flipped[:7]
    assert churn_between(a, probe.fingerprint(predictions=flipped)) == pytest.approx(7 / 103)
    assert churn_between(a, a) == 0.0


def test_behavior_diff_is_a_plain_value() -> None:
    diff = BehaviorDiff("sha256:" + "0" * 64, 10, 0.0, 0)
    assert diff.to_dict()["groups"] == []
    assert "10 examples" in str(diff)


@pytest.mark.parametrize("module", [probes, _arrays, _probeset, _fingerprint, _compare])
def test_docstring_examples_run(module: Any) -> None:
    assert doctest.testmod(module, raise_on_error=False).failed == 0


def test_docs_page_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    page = Path(__file__).parents[2] / "docs" / "behaviour.md"
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.DOTALL)
    assert blocks
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {"__name__": "__docs__"}
    for block in blocks:
        exec(compile(block, str(page), "exec"), namespace)


@pytest.mark.parametrize(
    "labels",
    [
        [f"region-{i}" for i in range(10)],
        ["é", "x" * 40, "", "ab", "ab\u0301"],
        [b"a", b"bb", b"", b"ccc\xff"],
        [f"slice {i}" for i in range(3000)],  # more distinct labels than the check rows
    ],
    ids=["regions", "unicode widths", "bytes", "many distinct"],
)
@pytest.mark.parametrize("step", [None, 0], ids=["hashed", "every row colliding"])
def test_group_codes_of_long_string_groups_equal_np_unique(
    labels: list[Any], step: int | None, rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlineage.stats import _behaviour

    if step is not None:  # a hash of the last word only: strings collide, np.unique decides
        monkeypatch.setattr(_behaviour, "_HASH_STEP", np.uint64(step))
    groups = np.array(labels)[rng.integers(0, len(labels), 20_000)]
    probe = ProbeSet(np.zeros((groups.shape[0], 1)), groups=groups)
    expected, codes = np.unique(groups, return_inverse=True)
    assert probe.group_labels is not None and probe._group_codes is not None
    assert probe.group_labels.dtype == expected.dtype
    np.testing.assert_array_equal(probe.group_labels, expected)
    np.testing.assert_array_equal(probe._group_codes, codes)
    assert probe._group_codes.dtype == np.intp


def test_arrays_read_from_bytes_are_read_only_aligned_and_in_either_order() -> None:
    matrix = np.asfortranarray(np.arange(12.0).reshape(3, 4))
    buffer = io.BytesIO()
    np.save(buffer, matrix, allow_pickle=False)  # a Fortran-ordered .npy file
    back = _arrays._load_npy(buffer.getvalue(), "m")
    np.testing.assert_array_equal(back, matrix)
    assert not back.flags.writeable
    probe = ProbeSet.from_bytes(ProbeSet(matrix, y=[0, 1, 0]).to_bytes())
    assert not probe.X.flags.writeable and not probe.y.flags.writeable
    for name in ("name", "a longer name"):  # headers of other lengths: other offsets
        back_probe = ProbeSet.from_bytes(ProbeSet(matrix, y=[0, 1, 0], name=name).to_bytes())
        assert back_probe.X.flags.aligned and back_probe.y.flags.aligned
