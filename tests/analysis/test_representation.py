"""CKA (linear, RBF, minibatch), Procrustes distance and mean-embedding cosine."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st

from mlineage.errors import InvalidInput
from mlineage.stats import _representation as representation
from mlineage.stats.representation import (
    linear_cka,
    mean_embedding_cosine,
    minibatch_cka,
    procrustes_distance,
    rbf_cka,
)


def gram_cka(X: np.ndarray, Y: np.ndarray) -> float:  # noqa: N803
    """Kornblith et al.'s HSIC form on n x n linear Grams: the oracle."""
    n = X.shape[0]
    H = np.eye(n) - 1.0 / n  # noqa: N806
    K, L = H @ (X @ X.T) @ H, H @ (Y @ Y.T) @ H  # noqa: N806
    return float(np.sum(K * L) / (np.linalg.norm(K) * np.linalg.norm(L)))


def kornblith_rbf_cka(X: np.ndarray, Y: np.ndarray, threshold: float) -> float:  # noqa: N803
    """Transcription of Kornblith et al.'s reference notebook (gram_rbf, center_gram, cka)."""

    def gram_rbf(x: np.ndarray) -> np.ndarray:
        dot = x.dot(x.T)
        sq = np.diag(dot)
        d2 = -2 * dot + sq[:, None] + sq[None, :]
        return np.exp(-d2 / (2 * threshold**2 * np.median(d2)))

    def center(g: np.ndarray) -> np.ndarray:
        means = np.mean(g, 0)
        means -= np.mean(means) / 2
        return g - means[:, None] - means[None, :]

    gx, gy = center(gram_rbf(X)), center(gram_rbf(Y))
    return float(gx.ravel().dot(gy.ravel()) / (np.linalg.norm(gx) * np.linalg.norm(gy)))


def rotation(rng: np.random.Generator, d: int) -> np.ndarray:
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    return q


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(42)


def test_linear_cka_matches_the_gram_formula(rng: np.random.Generator) -> None:
    for d1, d2 in [(5, 5), (3, 9), (12, 2)]:
        X = rng.normal(size=(40, d1)) + 5.0  # noqa: N806
        Y = X[:, :1] @ rng.normal(size=(1, d2)) + rng.normal(size=(40, d2))  # noqa: N806
        assert linear_cka(X, Y) == pytest.approx(gram_cka(X, Y), rel=1e-10)


def test_linear_cka_invariances(rng: np.random.Generator) -> None:
    X = rng.normal(size=(200, 10))  # noqa: N806
    Y = np.tanh(X @ rng.normal(size=(10, 6)))  # noqa: N806
    base = linear_cka(X, Y)
    assert 0.1 < base < 0.99
    assert linear_cka(X @ rotation(rng, 10), Y) == pytest.approx(base, rel=1e-10)
    assert linear_cka(X, 7.5 * Y @ rotation(rng, 6)) == pytest.approx(base, rel=1e-10)
    assert linear_cka(X + 100.0, Y - 3.0) == pytest.approx(base, rel=1e-8)
    assert linear_cka(Y, X) == pytest.approx(base, rel=1e-12)
    # Not invariant to arbitrary linear maps: stretching one axis changes it.
    stretch = np.diag([50.0] + [1.0] * 9)
    assert abs(linear_cka(X @ stretch, Y) - base) > 1e-3


def test_linear_cka_identical_and_unrelated(rng: np.random.Generator) -> None:
    X = rng.normal(size=(3000, 32))  # noqa: N806
    assert linear_cka(X, X) == pytest.approx(1.0)
    assert linear_cka(X, rng.normal(size=(3000, 32))) < 0.02


def test_linear_cka_float32_agrees_with_float64(rng: np.random.Generator) -> None:
    X = rng.normal(size=(5000, 64)) + 2.0  # noqa: N806
    Y = X @ rng.normal(size=(64, 16)) + rng.normal(size=(5000, 16))  # noqa: N806
    exact = linear_cka(X, Y)
    assert linear_cka(X.astype(np.float32), Y.astype(np.float32)) == pytest.approx(exact, abs=1e-4)


def test_linear_cka_dominant_means_fall_back_to_explicit_centring(
    rng: np.random.Generator,
) -> None:
    # Means 1e6 times the spread: the mean-corrected products cancel catastrophically
    # (float32 above all); the explicit path keeps the answer.
    X = rng.normal(size=(500, 8))  # noqa: N806
    Y = X @ rng.normal(size=(8, 8)) + 0.5 * rng.normal(size=(500, 8))  # noqa: N806
    exact = gram_cka(X, Y)
    assert linear_cka(X + 1e6, Y - 1e6) == pytest.approx(exact, rel=1e-6)
    X32, Y32 = (X + 1e3).astype(np.float32), (Y + 1e3).astype(np.float32)  # noqa: N806
    assert linear_cka(X32, Y32) == pytest.approx(exact, abs=1e-3)


def test_constant_columns_are_fine_but_a_constant_embedding_is_an_error(
    rng: np.random.Generator,
) -> None:
    X = rng.normal(size=(50, 4))  # noqa: N806
    padded = np.hstack([X, np.full((50, 1), 3.0)])
    assert linear_cka(padded, X) == pytest.approx(1.0)
    constant = np.full((50, 4), 2.5)
    for f in (linear_cka, procrustes_distance, minibatch_cka):
        with pytest.raises(InvalidInput, match="X is constant"):
            f(constant, X)
        with pytest.raises(InvalidInput, match="Y is constant"):
            f(X, constant)
    with pytest.raises(InvalidInput, match="median distance"):
        rbf_cka(constant, X)


@pytest.mark.parametrize(
    ("X", "Y", "message"),
    [
        (np.ones(5), np.ones((5, 2)), "2-D"),
        (np.ones((5, 2)), np.ones((4, 2)), "rows"),
        (np.ones((1, 2)), np.ones((1, 2)), "at least 2"),
        (np.ones((5, 0)), np.ones((5, 2)), "no columns"),
        (np.array([["a", "b"], ["c", "d"]]), np.ones((2, 2)), "dtype"),
        (np.array([[0.0, np.nan], [1.0, 2.0], [3, 4]]), np.ones((3, 2)), "nan"),
        (np.array([[0.0, np.inf], [1.0, 2.0], [3, 4]]), np.eye(3)[:, :2], "nan or inf"),
    ],
)
def test_bad_embeddings(X: np.ndarray, Y: np.ndarray, message: str) -> None:  # noqa: N803
    for f in (linear_cka, procrustes_distance):
        with pytest.raises(InvalidInput, match=message):
            f(X, Y)


def test_procrustes_matches_scipy(rng: np.random.Generator) -> None:
    for d1, d2 in [(6, 6), (4, 7)]:
        X = rng.normal(size=(80, d1)) + 1.0  # noqa: N806
        Y = rng.normal(size=(80, d2)) + X[:, :1]  # noqa: N806
        Xn, Yn = X - X.mean(0), Y - Y.mean(0)  # noqa: N806
        Xn, Yn = Xn / np.linalg.norm(Xn), Yn / np.linalg.norm(Yn)  # noqa: N806
        width = max(d1, d2)
        Xp = np.pad(Xn, ((0, 0), (0, width - d1)))  # noqa: N806
        Yp = np.pad(Yn, ((0, 0), (0, width - d2)))  # noqa: N806
        R, scale = scipy.linalg.orthogonal_procrustes(Xp, Yp)  # noqa: N806
        oracle = float(np.linalg.norm(Xp @ R - Yp) ** 2)
        assert procrustes_distance(X, Y) == pytest.approx(oracle, abs=1e-10)
        assert procrustes_distance(X, Y) == pytest.approx(2 - 2 * scale, abs=1e-10)


def test_procrustes_zero_for_rotated_copies_and_large_for_unrelated(
    rng: np.random.Generator,
) -> None:
    X = rng.normal(size=(500, 12))  # noqa: N806
    assert procrustes_distance(X, -4 * X @ rotation(rng, 12) + 9) == pytest.approx(0.0, abs=1e-9)
    assert procrustes_distance(X, rng.normal(size=(500, 12))) > 1.0


@settings(max_examples=60, deadline=None)
@given(
    st.integers(3, 25),
    st.integers(1, 6),
    st.integers(1, 6),
    st.integers(0, 2**32 - 1),
    st.floats(0.1, 100.0),
)
def test_properties(n: int, d1: int, d2: int, seed: int, scale: float) -> None:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d1))  # noqa: N806
    Y = rng.normal(size=(n, d2))  # noqa: N806
    cka = linear_cka(X, Y)
    assert 0.0 <= cka <= 1.0
    assert cka == pytest.approx(gram_cka(X, Y), abs=1e-9)
    assert 0.0 <= procrustes_distance(X, Y) <= 2.0
    rotated = scale * X @ rotation(rng, d1)
    assert procrustes_distance(X, rotated) == pytest.approx(0.0, abs=1e-8)
    assert linear_cka(X, rotated) == pytest.approx(1.0, abs=1e-9)


def test_rbf_cka_matches_kornblith_code(rng: np.random.Generator) -> None:
    X = rng.normal(size=(120, 5))  # noqa: N806
    Y = np.sin(X @ rng.normal(size=(5, 3)))  # noqa: N806
    for sigma in (0.4, 0.8, 1.0):
        assert rbf_cka(X, Y, sigma) == pytest.approx(kornblith_rbf_cka(X, Y, sigma), rel=1e-9)


def test_rbf_cka_sanity_and_subsample(rng: np.random.Generator) -> None:
    X = rng.normal(size=(3000, 8))  # noqa: N806
    assert rbf_cka(X, X, max_samples=500) == pytest.approx(1.0)
    assert rbf_cka(X, X @ rotation(rng, 8) * 3, max_samples=500) == pytest.approx(1.0)
    assert rbf_cka(X, rng.normal(size=(3000, 8)), max_samples=500) < 0.05
    Y = X + 0.1 * rng.normal(size=X.shape)  # noqa: N806
    assert rbf_cka(X, Y, max_samples=500, seed=1) == rbf_cka(X, Y, max_samples=500, seed=1)
    with pytest.raises(InvalidInput, match="sigma"):
        rbf_cka(X, Y, sigma=0.0)
    with pytest.raises(InvalidInput, match="max_samples"):
        rbf_cka(X, Y, max_samples=1)


def test_minibatch_cka_sanity(rng: np.random.Generator) -> None:
    X = rng.normal(size=(4096, 16))  # noqa: N806
    assert minibatch_cka(X, X) == pytest.approx(1.0)
    assert minibatch_cka(X, X @ rotation(rng, 16) + 5) == pytest.approx(1.0)
    assert abs(minibatch_cka(X, rng.normal(size=(4096, 16)))) < 0.02
    Y = np.tanh(X @ rng.normal(size=(16, 8))) + 0.3 * rng.normal(size=(4096, 8))  # noqa: N806
    # Unbiased minibatch estimate agrees with full linear CKA on a large sample.
    assert minibatch_cka(X, Y, batch_size=512) == pytest.approx(linear_cka(X, Y), abs=0.02)
    with pytest.raises(InvalidInput, match="batch_size"):
        minibatch_cka(X, Y, batch_size=3)
    with pytest.raises(InvalidInput, match="at least 4"):
        minibatch_cka(X[:3], Y[:3])


def test_minibatch_cka_unbiased_where_linear_cka_is_biased_upwards(
    rng: np.random.Generator,
) -> None:
    # Few rows, many features, unrelated: biased CKA is far from 0, unbiased is not.
    X, Y = rng.normal(size=(64, 256)), rng.normal(size=(64, 256))  # noqa: N806
    assert linear_cka(X, Y) > 0.5
    assert abs(minibatch_cka(X, Y, batch_size=64)) < 0.1


def test_mean_embedding_cosine(rng: np.random.Generator) -> None:
    X = rng.normal(size=(100, 4)) + np.array([1.0, 0.0, 0.0, 0.0])  # noqa: N806
    assert mean_embedding_cosine(X, 2 * X) == pytest.approx(1.0)
    # A rotation that CKA ignores changes it: it needs a shared basis.
    assert mean_embedding_cosine(X, -X) == pytest.approx(-1.0)
    with pytest.raises(InvalidInput, match="shared basis"):
        mean_embedding_cosine(X, X[:, :2])
    with pytest.raises(InvalidInput, match="zero vector"):
        mean_embedding_cosine(X - X.mean(0), X)


def test_no_n_by_n_gram_in_linear_cka(rng: np.random.Generator) -> None:
    # 200,000 rows: an n x n float64 Gram would need 320 GB.
    X = rng.normal(size=(200_000, 3)).astype(np.float32)  # noqa: N806
    assert linear_cka(X, X[:, ::-1]) == pytest.approx(1.0, abs=1e-5)


def test_docstring_examples_run() -> None:
    assert doctest.testmod(representation, raise_on_error=False).failed == 0
