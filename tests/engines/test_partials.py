"""The merge every engine does: partial profiles of any split merge into the whole's profile."""

from __future__ import annotations

import itertools
from typing import Any

import hypothesis.strategies as st
import pytest
from hypothesis import given, settings

from mlineage.analysis import DataProfile
from mlineage.engines._listing import ObjectEntry, listing_of
from mlineage.engines._partials import Settings, merge_bytes, merge_tree
from mlineage.errors import InvalidInput
from tests.engines.conftest import SIZES, make_frame
from tests.engines.profiles import assert_same_profile

FRAME = make_frame(seed=7)


@settings(max_examples=25, deadline=None)
@given(cuts=st.lists(st.integers(0, len(FRAME)), max_size=12))
def test_any_split_merges_into_the_whole_frames_profile(cuts: list[int]) -> None:
    bounds = [0, *sorted(cuts), len(FRAME)]
    config = Settings.of("y", "auto", SIZES["exact_limit"], None, SIZES["top_k"])
    parts = [config.profile([FRAME.iloc[a:b]]) for a, b in itertools.pairwise(bounds)]
    single = DataProfile.from_dataframe(FRAME, label="y", **SIZES)
    assert_same_profile(merge_tree(parts), single, FRAME)
    # as the workers do it: through the serialised form
    shipped = DataProfile.from_bytes(merge_bytes(p.to_bytes() for p in parts))
    assert_same_profile(shipped, single, FRAME)


def test_nothing_to_merge_is_an_empty_profile() -> None:
    assert merge_tree([]).num_rows == 0 and merge_tree([]).columns == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"label_kind": "number"}, "label_kind must be"),
        ({"exact_limit": -1}, "exact_limit must be an integer >= 0"),
        ({"label": 3}, "label must be a column name"),
    ],
)
def test_bad_settings_are_refused_on_the_driver(kwargs: dict[str, Any], message: str) -> None:
    given_ = {"label": None, "label_kind": "auto", "exact_limit": None, "k": None, "top_k": None}
    with pytest.raises(InvalidInput, match=message):
        Settings.of(**{**given_, **kwargs})


def test_listings_of_full_names_are_relative_to_their_common_folder() -> None:
    entries = [
        ObjectEntry("s3a://b/t/x/part-1", 3, "e1", None, None),
        ObjectEntry("s3a://b/t/part-0", 2, "e0", None, None),
    ]
    listing = listing_of(entries, "spark")
    assert listing.root == "s3a://b/t"
    assert [e.key for e in listing.entries] == ["part-0", "x/part-1"]
    assert listing.digest().num_files == 2 and listing.size == 5
    mixed = listing_of([*entries, ObjectEntry("file:///d/a", 1, None, None, 1.0)], "spark")
    with pytest.raises(InvalidInput, match="cannot be recorded as a manifest"):
        mixed.digest()


@pytest.mark.parametrize("name", ["objects", "dask", "spark"])
def test_docstring_examples_run(name: str) -> None:
    import doctest
    import importlib

    module = importlib.import_module(f"mlineage.engines.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
