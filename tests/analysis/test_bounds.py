"""The error bounds of W1/std and PSI computed from sketched (KLL) profiles.

``FeatureDrift.w1_error`` and ``psi_error`` bound how far the sketched values can be from
the raw data's (docs/analysis.md, "The KLL sketch's error bound"); here the raw data is at
hand, so the bounds are checked against it on shapes where sketches err differently.
"""

from __future__ import annotations

import numpy as np
import pytest

from mlineage.stats.drift import psi, psi_from_counts, wasserstein_normed
from mlineage.stats.profile import DataProfile, drift_between

N = 40_000


def _cases(seed: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return {
        "same": (rng.normal(size=N), rng.normal(size=N)),
        "shift": (rng.normal(size=N), rng.normal(0.3, size=N)),
        "wider": (rng.normal(size=N), rng.normal(0, 1.5, size=N)),
        "heavy tail": (rng.lognormal(size=N), rng.lognormal(0.2, size=N)),
        "far": (rng.normal(size=N), rng.normal(2.0, size=N)),
        "bimodal": (
            np.concatenate([rng.normal(-3, 1, N // 2), rng.normal(3, 1, N // 2)]),
            rng.normal(size=N),
        ),
    }


def _sketched(values: np.ndarray) -> DataProfile:
    return DataProfile.from_array(values[:, None], columns=["x"], exact_limit=100)


@pytest.mark.parametrize("seed", range(3))
def test_sketched_w1_and_psi_lie_within_their_bounds(seed: int) -> None:
    for name, (ref, cur) in _cases(seed).items():
        pa, pb = _sketched(ref), _sketched(cur)
        f = drift_between(pa, pb).features[0]
        assert f.method == "sketch", name
        assert f.w1_error is not None and f.psi_error is not None and f.psi is not None
        assert f.wasserstein_normed is not None
        assert abs(f.wasserstein_normed - wasserstein_normed(ref, cur)) <= f.w1_error, name
        # PSI of the raw data on the sketch's bins (the reference's sketched deciles)
        edges = np.unique(pa["x"].quantiles(np.linspace(0, 1, 11)[1:-1]))
        bins = len(edges) + 1
        raw_ref = np.bincount(np.searchsorted(edges, ref, side="left"), minlength=bins)
        raw_cur = np.bincount(np.searchsorted(edges, cur, side="left"), minlength=bins)
        assert abs(f.psi - psi_from_counts(raw_ref, raw_cur)) <= f.psi_error, name
        # and of the exact deciles: not guaranteed (other bins), but inside on these shapes
        assert abs(f.psi - psi(ref, cur)) <= f.psi_error, name


def test_exact_profiles_have_zero_bounds_and_a_sketch_nonzero() -> None:
    ref, cur = _cases(0)["shift"]
    exact = drift_between(
        DataProfile.from_array(ref[:5000, None]), DataProfile.from_array(cur[:5000, None])
    ).features[0]
    assert (exact.method, exact.error_bound, exact.w1_error, exact.psi_error) == (
        "exact",
        0.0,
        0.0,
        0.0,
    )
    sketched = drift_between(_sketched(ref), _sketched(cur)).features[0]
    assert sketched.w1_error is not None and sketched.w1_error > 0
    assert sketched.psi_error is not None and sketched.psi_error > 0


def test_sketched_categorical_psi_has_a_bound() -> None:
    rng = np.random.default_rng(2)
    ref = rng.integers(0, 2_000, 30_000).astype(str)  # beyond top_k: a frequent-items sketch
    cur = rng.integers(0, 2_000, 30_000).astype(str)
    f = drift_between(
        DataProfile.from_array(ref[:, None]), DataProfile.from_array(cur[:, None])
    ).features[0]
    assert f.method == "sketch" and f.psi_error is not None and f.psi_error > 0
    exact = drift_between(
        DataProfile.from_array(ref[:50, None]), DataProfile.from_array(cur[:50, None])
    ).features[0]
    assert exact.psi_error == 0.0


def test_bounds_survive_the_cache_format() -> None:
    ref, cur = _cases(1)["wider"]
    report = drift_between(_sketched(ref), _sketched(cur))
    from mlineage.stats.profile import DriftReport

    again = DriftReport.from_dict(report.to_dict())
    assert again == report and again.features[0].psi_error == report.features[0].psi_error
    old = report.to_dict()
    for feature in old["features"]:  # a report cached before the bounds existed
        del feature["w1_error"], feature["psi_error"]
    assert DriftReport.from_dict(old).features[0].w1_error is None
