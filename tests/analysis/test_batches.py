"""Batches into profiles: typed errors for inputs that cannot be profiled, bounded memory."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

import mlineage as ml
from mlineage.errors import InvalidInput
from mlineage.stats._batches import CHUNK_ROWS
from mlineage.stats.profile import DataProfile


def test_numeric_label_kind_with_text_labels_names_the_label_column() -> None:
    with pytest.raises(InvalidInput, match="label column 'target' is profiled as numeric"):
        DataProfile.from_array(
            np.zeros((2, 1)), y=["a", "b"], label_name="target", label_kind="numeric"
        )
    df = pd.DataFrame({"x": [1.0, 2.0], "y": ["a", "b"]})
    with pytest.raises(InvalidInput, match="label column 'y' is profiled as numeric"):
        DataProfile.from_dataframe(df, label="y", label_kind="numeric")
    # numbers written as text, or booleans, are numbers when asked for
    p = DataProfile.from_array(np.zeros((2, 1)), y=["1.5", "2"], label_kind="numeric")
    assert p["label"].kind == "numeric" and p["label"].mean == 1.75


def test_label_matches_a_column_by_its_string_name() -> None:
    # profile columns are named str(name): an int column 5 is the label "5" (or 5)
    df = pd.DataFrame({5: [0, 1, 1], "x": [1.0, 2.0, 3.0]})
    for label in ("5", 5):
        p = DataProfile.from_dataframe(df, label=label)  # type: ignore[arg-type]
        assert (p.columns, p.label) == (["x"], "5")
        assert p["5"].categories == {"0": 1, "1": 2}
    with pytest.raises(InvalidInput, match="label column '6' not in"):
        DataProfile.from_dataframe(df, label="6")
    with pytest.raises(InvalidInput, match="repeat"):
        DataProfile.from_dataframe(pd.DataFrame([[1, 2]], columns=[5, "5"]), label="5")


def test_complex_columns_are_refused_by_every_constructor() -> None:
    z = np.array([1 + 2j, 3 + 0j])
    with pytest.raises(InvalidInput, match="complex"):
        DataProfile.from_array(z)
    with pytest.raises(InvalidInput, match="complex"):
        DataProfile.from_array(np.zeros((2, 1)), y=z)
    with pytest.raises(InvalidInput, match="label column 'label' is complex"):
        DataProfile.from_array(np.zeros((2, 1)), y=z, label_kind="numeric")
    with pytest.raises(InvalidInput, match="column 'c' is complex"):
        DataProfile.from_dataframe(pd.DataFrame({"x": [1.0, 2.0], "c": z}))
    with pytest.raises(InvalidInput, match="column 'c' is complex"):
        DataProfile.from_dataframe(pd.DataFrame({"x": [1.0, 2.0], "c": z}), label="c")
    with pytest.raises(InvalidInput, match="complex"):
        ml.DataSnapshot.from_dataframe(pd.DataFrame({"c": z}), profile=True)


def test_label_count_is_checked_before_batches_are_cut_into_chunks() -> None:
    x = np.zeros((CHUNK_ROWS + 10, 1))
    with pytest.raises(InvalidInput, match=f"{CHUNK_ROWS + 9} labels for {CHUNK_ROWS + 10} rows"):
        DataProfile.from_array(x, y=np.zeros(CHUNK_ROWS + 9))
    p = DataProfile.from_array(x, y=np.arange(CHUNK_ROWS + 10) % 2)
    assert p.num_rows == CHUNK_ROWS + 10 and p["label"].categories == {
        "0": (CHUNK_ROWS + 10) // 2,
        "1": (CHUNK_ROWS + 10) // 2,
    }


MEMORY_SCRIPT = textwrap.dedent(
    """
    import sys, tracemalloc
    import numpy as np
    import pandas as pd
    from mlineage.stats.profile import DataProfile

    n = 300_000
    distinct = np.arange(n).astype("U7")  # 300,000 distinct categories
    frame = pd.DataFrame({"c": distinct})
    numeric = np.random.default_rng(0).normal(size=(n, 24)).astype(np.float32)  # 29 MB
    for name, build in [
        ("array", lambda: DataProfile.from_array(distinct)),
        ("frame", lambda: DataProfile.from_dataframe(frame)),
        ("numeric", lambda: DataProfile.from_array(numeric)),
    ]:
        tracemalloc.start()
        build()
        print(name, tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    """
)


def test_profile_memory_is_one_chunk_whatever_the_input_size() -> None:
    # Before profiles were built in row chunks, from_array on 10M distinct categories
    # peaked 2.8 GB above its input: a counter and a sorted list of every category. Here
    # 300,000 distinct categories and a 29 MB float32 matrix (copied to float64 whole
    # before) peaked at 78, 78 and 117 MiB; in chunks, at 9, 9 and 17 MiB.
    out = subprocess.run(
        [sys.executable, "-c", MEMORY_SCRIPT], capture_output=True, text=True, check=True
    )
    peaks = {name: int(value) for name, value in map(str.split, out.stdout.splitlines())}
    assert set(peaks) == {"array", "frame", "numeric"}
    for name, peak in peaks.items():
        assert peak < 32 * 2**20, f"{name}: peak {peak / 2**20:.1f} MiB above the input"
