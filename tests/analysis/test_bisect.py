"""tracker.bisect: the first bad version in ceil(log2 n) evaluations, with skips."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mlineage as ml
from mlineage.analysis import BisectResult, Untestable
from mlineage.errors import InvalidInput
from mlineage.records import ModelVersion


def _line(n: int, first_bad: int) -> ml.Tracker:
    """n versions in a line; versions first_bad.. are bad (accuracy drops)."""
    tracker = ml.Tracker("line", storage="memory://", capture_environment=False)
    for i in range(n):
        tracker.log(
            model_path=f"m{i}.pt",
            dataset=ml.DataSnapshot(hash=f"sha256:{i}"),
            metrics={"accuracy": 0.8 if i >= first_bad else 0.9, "i": i},
            name=f"v{i}",
        )
    return tracker


def _is_good(version: ModelVersion) -> bool:
    return version.metrics["accuracy"] > 0.85


def test_finds_month_seven_in_ceil_log2_n_evaluations() -> None:
    tracker = _line(12, 6)
    result = tracker.bisect("v0", "v11", _is_good)
    assert isinstance(result, BisectResult)
    assert result.first_bad.name == "v6" and not result.ambiguous
    assert result.candidates == [result.first_bad] and result.skipped == []
    assert result.steps == 11 and len(result.evaluated) <= math.ceil(math.log2(11))
    assert "first bad version" in str(result) and "v6" in str(result)
    assert result.to_dict()["first_bad_name"] == "v6"


@given(st.integers(2, 80), st.data())
@settings(max_examples=60, deadline=None)
def test_binary_search_is_right_and_logarithmic(n: int, data: st.DataObject) -> None:
    first_bad = data.draw(st.integers(1, n - 1))
    good = data.draw(st.integers(0, first_bad - 1))
    tracker = _line(n, first_bad)
    calls: list[int] = []

    def test(version: ModelVersion) -> bool:
        calls.append(1)
        return _is_good(version)

    result = tracker.bisect(f"v{good}", f"v{n - 1}", test)
    assert result.first_bad.name == f"v{first_bad}"
    steps = n - 1 - good
    assert result.steps == steps
    assert len(calls) == len(result.evaluated) <= math.ceil(math.log2(steps))


@given(st.integers(3, 40), st.data())
@settings(max_examples=60, deadline=None)
def test_skips_never_give_a_wrong_answer(n: int, data: st.DataObject) -> None:
    first_bad = data.draw(st.integers(1, n - 1))
    untestable = set(data.draw(st.lists(st.integers(1, n - 2), max_size=n)))
    tracker = _line(n, first_bad)

    def test(version: ModelVersion) -> bool:
        if version.metrics["i"] in untestable:
            raise Untestable("cannot build this one")
        return _is_good(version)

    result = tracker.bisect("v0", f"v{n - 1}", test)
    names = [v.name for v in result.candidates]
    assert f"v{first_bad}" in names
    assert result.ambiguous == (len(names) > 1)
    if not result.ambiguous:
        assert result.first_bad.name == f"v{first_bad}"
    assert all(v.metrics["i"] in untestable for v in result.candidates[:-1])
    assert {v.metrics["i"] for v in result.skipped} <= untestable


def test_none_and_the_skip_list_skip_like_git() -> None:
    tracker = _line(9, 4)
    seen: list[str] = []

    def test(version: ModelVersion) -> bool | None:
        seen.append(str(version.name))
        return None if version.name == "v4" else _is_good(version)

    result = tracker.bisect("v0", "v8", test, skip=["v3"])
    assert "v3" not in seen  # listed in skip: never tested
    assert result.ambiguous and [v.name for v in result.candidates] == ["v3", "v4", "v5"]
    assert {v.name for v in result.skipped} == {"v3", "v4"}
    assert "only skipped versions" in str(result)
    assert (tracker.get_version("v4"), None) in result.evaluated


def test_bad_arguments_and_errors_of_the_test() -> None:
    tracker = _line(5, 2)
    with pytest.raises(InvalidInput, match="not an ancestor"):
        tracker.bisect("v3", "v1", _is_good)
    with pytest.raises(InvalidInput, match="not an ancestor"):
        tracker.bisect("v2", "v2", _is_good)

    def broken(version: ModelVersion) -> bool:
        raise RuntimeError("the test itself failed")

    with pytest.raises(RuntimeError, match="test itself"):
        tracker.bisect("v0", "v4", broken)
    one = tracker.bisect("v3", "v4", _is_good)  # one candidate: nothing to evaluate
    assert one.first_bad.name == "v4" and one.evaluated == []


@pytest.mark.parametrize(
    "answer",
    ["False", "True", "", 0, 1, 0.0, np.int64(0), np.array(True), np.array([False]), [], object()],
    ids=lambda value: type(value).__name__,
)
def test_only_bools_and_none_are_answers(answer: object) -> None:
    tracker = _line(9, 4)
    seen: list[str] = []

    def test(version: ModelVersion) -> object:
        seen.append(str(version.name))
        return answer

    with pytest.raises(InvalidInput, match="bisect's test returned") as caught:
        tracker.bisect("v0", "v8", test)  # type: ignore[arg-type]
    message = str(caught.value)
    assert type(answer).__qualname__ in message and repr(answer)[:40] in message
    assert seen[0] in message and len(seen) == 1  # stops at the first such answer


def test_an_exit_code_is_not_read_by_its_truthiness() -> None:
    # 0 is "good" to git bisect run but falsy to Python: the old reading took it as bad.
    tracker = _line(9, 4)
    with pytest.raises(InvalidInput, match=r"status == 0"):
        tracker.bisect("v0", "v8", lambda v: 0 if _is_good(v) else 1)  # type: ignore[arg-type,return-value]
    found = tracker.bisect("v0", "v8", lambda v: (0 if _is_good(v) else 1) == 0)
    assert found.first_bad.name == "v4"


@given(st.integers(2, 30), st.data())
@settings(max_examples=30, deadline=None)
def test_numpy_bools_answer_like_bools(n: int, data: st.DataObject) -> None:
    first_bad = data.draw(st.integers(1, n - 1))
    tracker = _line(n, first_bad)
    result = tracker.bisect("v0", f"v{n - 1}", lambda v: np.bool_(_is_good(v)))
    assert result.first_bad.name == f"v{first_bad}"
    assert all(type(outcome) is bool for _, outcome in result.evaluated)


@pytest.mark.parametrize("test", [None, "accuracy > 0.85", True, 0])
def test_a_test_that_is_not_callable_is_refused_before_any_evaluation(test: object) -> None:
    tracker = _line(5, 2)
    with pytest.raises(InvalidInput, match="must be callable") as caught:
        tracker.bisect("v3", "v4", test)  # type: ignore[arg-type]  # one candidate: no evaluation
    assert repr(test) in str(caught.value)
    with pytest.raises(InvalidInput, match="must be callable"):
        tracker.bisect("v0", "v4", test)  # type: ignore[arg-type]
