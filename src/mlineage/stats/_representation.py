"""The code of :mod:`mlineage.stats.representation` (its public home) and the helpers the
other statistics modules share with it."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from mlineage.errors import InvalidInput

__all__ = [
    "linear_cka",
    "mean_embedding_cosine",
    "minibatch_cka",
    "procrustes_distance",
    "rbf_cka",
]

_Float = npt.NDArray[np.floating[Any]]
_F64 = npt.NDArray[np.float64]

# Fast path: X^T Y is formed from the raw inputs and corrected with the column means
# (Xc^T Yc = X^T Y - n mx my^T), which avoids two centred copies. The correction cancels
# the share of the energy that sits in the means, so rounding grows by
# total / centred energy. Below these centred shares the inputs are centred explicitly in
# float64 instead.
_MIN_CENTRED_SHARE = {np.dtype(np.float64): 1e-6, np.dtype(np.float32): 0.2}


def _embeddings(
    name: str, values: npt.ArrayLike, n: int | None = None, min_rows: int = 2
) -> _Float:
    array = np.asarray(values)
    if array.ndim != 2:
        hint = " (reshape a single feature with .reshape(-1, 1))" if array.ndim == 1 else ""
        raise InvalidInput(
            f"{name} must be a 2-D array (examples x features), got shape {array.shape}{hint}"
        )
    if n is not None and array.shape[0] != n:
        raise InvalidInput(
            f"{name} has {array.shape[0]} rows but X has {n}; both must embed the same "
            "examples in the same order"
        )
    if array.shape[0] < min_rows:
        raise InvalidInput(
            f"{name} has {array.shape[0]} rows; this measure needs at least {min_rows}"
        )
    if array.shape[1] == 0:
        raise InvalidInput(f"{name} has no columns (shape {array.shape})")
    if array.dtype.kind in "biu":
        array = array.astype(np.float64)
    elif array.dtype.kind == "f":
        if array.dtype.itemsize < 4:
            array = array.astype(np.float32)
    else:
        raise InvalidInput(
            f"{name} has dtype {array.dtype}; embeddings must be real numbers "
            "(float32, float64 or integers)"
        )
    return array


def _check_finite(name: str, array: _Float) -> None:
    if not np.isfinite(array).all():
        raise InvalidInput(f"{name} holds nan or inf; drop or repair those rows first")


def _constant(name: str) -> InvalidInput:
    return InvalidInput(
        f"{name} is constant (every row is the same), so it has no variance and its "
        "similarity to anything is undefined (0/0); check the embedding function, which "
        "may be returning a collapsed or uninitialised layer"
    )


def _is_constant(array: _Float) -> bool:
    return bool((array == array[0]).all())


def _means(array: _Float) -> _F64:
    if array.dtype == np.float64:
        # A matrix-vector product reads the rows once at memory speed; numpy's mean over
        # axis 0 of a C-order array is several times slower.
        sums = np.asarray(np.ones(array.shape[0]) @ array, dtype=np.float64)
        return np.asarray(sums / array.shape[0], dtype=np.float64)
    # float64 accumulation: a float32 column sum over many rows loses digits.
    return np.asarray(array.mean(axis=0, dtype=np.float64), dtype=np.float64)


def _centred64(name: str, array: _Float) -> _F64:
    """Explicitly centred float64 copy; constant columns become exact zeros."""
    _check_finite(name, array)
    if _is_constant(array):
        raise _constant(name)
    centred = np.asarray(array, dtype=np.float64) - _means(array)
    centred[:, (array == array[0]).all(axis=0)] = 0.0
    return centred


class _Products:
    """Centred cross products of X and Y, computed once for CKA and Procrustes."""

    def __init__(self, X: _Float, Y: _Float, *, self_products: bool) -> None:  # noqa: N803
        # nan/inf in the inputs propagate into the products, which are checked below;
        # numpy's warnings about them would only duplicate the error.
        with np.errstate(invalid="ignore", over="ignore"):
            self._compute(X, Y, self_products=self_products)

    def _compute(self, X: _Float, Y: _Float, *, self_products: bool) -> None:  # noqa: N803
        n = X.shape[0]
        mx, my = _means(X), _means(Y)
        dtype = np.result_type(X.dtype, Y.dtype)
        exact = False
        if self_products:
            xx_raw = np.asarray(X.T @ X, dtype=np.float64)
            yy_raw = np.asarray(Y.T @ Y, dtype=np.float64)
            energy_x, energy_y = float(np.trace(xx_raw)), float(np.trace(yy_raw))
        else:
            energy_x = float(np.einsum("ij,ij->", X, X, dtype=np.float64))
            energy_y = float(np.einsum("ij,ij->", Y, Y, dtype=np.float64))
        centred_x = energy_x - n * float(mx @ mx)
        centred_y = energy_y - n * float(my @ my)
        floor = _MIN_CENTRED_SHARE.get(np.dtype(dtype), 1e-6)
        finite = np.isfinite([energy_x, energy_y]).all()
        if not finite or centred_x <= floor * energy_x or centred_y <= floor * energy_y:
            exact = True
        if exact:
            Xc, Yc = _centred64("X", X), _centred64("Y", Y)  # noqa: N806
            self.xy: _F64 = Xc.T @ Yc
            self.energy_x = float(np.einsum("ij,ij->", Xc, Xc))
            self.energy_y = float(np.einsum("ij,ij->", Yc, Yc))
            if self_products:
                self.xx: _F64 = Xc.T @ Xc
                self.yy: _F64 = Yc.T @ Yc
        else:
            self.xy = np.asarray(X.T @ Y, dtype=np.float64) - n * np.outer(mx, my)
            self.energy_x, self.energy_y = centred_x, centred_y
            if self_products:
                self.xx = xx_raw - n * np.outer(mx, mx)
                self.yy = yy_raw - n * np.outer(my, my)
        if not np.isfinite(self.xy).all():
            _check_finite("X", X)
            _check_finite("Y", Y)
            raise InvalidInput(
                "X^T Y overflows float64: the embeddings hold values too large to multiply; "
                "rescale them (CKA and Procrustes distance do not depend on the scale)"
            )

    def cka(self) -> float:
        norm_x = float(np.linalg.norm(self.xx))
        norm_y = float(np.linalg.norm(self.yy))
        hsic = float(np.einsum("ij,ij->", self.xy, self.xy))
        value = hsic / (norm_x * norm_y)
        return min(max(value, 0.0), 1.0)

    def procrustes(self) -> float:
        nuclear = float(np.linalg.svd(self.xy, compute_uv=False).sum())
        value = 2.0 - 2.0 * nuclear / np.sqrt(self.energy_x * self.energy_y)
        return float(min(max(value, 0.0), 2.0))


def _two(X: npt.ArrayLike, Y: npt.ArrayLike, min_rows: int = 2) -> tuple[_Float, _Float]:  # noqa: N803
    x = _embeddings("X", X, min_rows=min_rows)
    y = _embeddings("Y", Y, x.shape[0], min_rows=min_rows)
    return x, y


def linear_cka(X: npt.ArrayLike, Y: npt.ArrayLike) -> float:  # noqa: N803
    """Linear centred kernel alignment between two embeddings of the same examples.

    Kornblith et al., "Similarity of Neural Network Representations Revisited", ICML 2019,
    in its feature-space form: with ``Xc``, ``Yc`` the column-centred inputs,

    ``CKA = ||Yc^T Xc||_F^2 / (||Xc^T Xc||_F ||Yc^T Yc||_F)``.

    It equals the Gram-matrix (HSIC) form but costs O(n d^2) time and O(d^2) memory; no
    n x n matrix is formed, and the inputs are not copied to centre them (the products
    are corrected with the column means, falling back to explicit centring when the means
    dominate the values). float32 inputs are multiplied in float32, which agrees with
    float64 to about 1e-5.

    Invariant to orthogonal transforms and isotropic scaling of either input (not to
    arbitrary invertible linear maps); 1 for identical inputs, near 0 for unrelated ones.

    Parameters
    ----------
    X : array_like of shape (n, d1)
        Embeddings from one model.
    Y : array_like of shape (n, d2)
        Embeddings of the same examples from another model; ``d2`` may differ from ``d1``.

    Returns
    -------
    float
        The linear CKA similarity, in [0, 1].

    Raises
    ------
    InvalidInput
        Not 2-D, different numbers of rows, fewer than 2 rows, non-numeric, ``nan`` or
        ``inf``, or a constant input (CKA would be 0/0).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 8))
    >>> Q, _ = np.linalg.qr(rng.normal(size=(8, 8)))
    >>> round(linear_cka(X, 3.0 * X @ Q), 6)  # rotated and scaled: same representation
    1.0
    >>> linear_cka(X, rng.normal(size=(500, 4))) < 0.1
    True
    """
    x, y = _two(X, Y)
    return _Products(x, y, self_products=True).cka()


def procrustes_distance(X: npt.ArrayLike, Y: npt.ArrayLike) -> float:  # noqa: N803
    """Orthogonal Procrustes distance between two embeddings of the same examples.

    Ding, Denain and Steinhardt, "Grounding Representation Similarity with Statistical
    Testing", NeurIPS 2021: centre the columns, scale each input to unit Frobenius norm,
    and take the smallest ``||X R - Y||_F^2`` over orthogonal ``R``, which is

    ``2 - 2 ||X^T Y||_*`` (nuclear norm: the sum of singular values).

    When the widths differ the narrower input is zero-padded, which leaves the nuclear
    norm of ``X^T Y`` unchanged, so no padding is materialised. Cost O(n d1 d2) plus an
    SVD of a d1 x d2 matrix.

    Parameters
    ----------
    X, Y : array_like of shape (n, d1) and (n, d2)
        Embeddings of the same examples from two models, as for :func:`linear_cka`.

    Returns
    -------
    float
        In [0, 2]: 0 when ``Y`` is a rotation (or reflection) of ``X`` up to translation
        and scale.

    Raises
    ------
    InvalidInput
        Not 2-D, different numbers of rows, fewer than 2 rows, non-numeric, ``nan`` or
        ``inf``, or a constant input (the normalisation would divide by zero).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 5))
    >>> Q, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    >>> round(procrustes_distance(X, 2.0 * X @ Q + 7.0), 9)
    0.0
    """
    x, y = _two(X, Y)
    return _Products(x, y, self_products=False).procrustes()


def linear_cka_and_procrustes(X: _Float, Y: _Float) -> tuple[float, float]:  # noqa: N803
    """Both measures from one set of products (inputs already checked)."""
    products = _Products(X, Y, self_products=True)
    return products.cka(), products.procrustes()


def _subsample(x: _Float, y: _Float, max_samples: int, seed: int) -> tuple[_Float, _Float]:
    if max_samples < 2:
        raise InvalidInput(f"max_samples is {max_samples}; it must be at least 2")
    n = x.shape[0]
    if n <= max_samples:
        return x, y
    rows = np.sort(np.random.default_rng(seed).choice(n, size=max_samples, replace=False))
    return x[rows], y[rows]


def _rbf_gram(name: str, x: _Float, sigma: float) -> _F64:
    centred = np.asarray(x, dtype=np.float64) - _means(x)
    dots = centred @ centred.T
    sq_norms = np.diag(dots)
    sq_distances = np.maximum(sq_norms[:, None] + sq_norms[None, :] - 2.0 * dots, 0.0)
    sq_median = float(np.median(sq_distances))
    if sq_median <= 0.0:
        raise InvalidInput(
            f"the median distance between rows of {name} is 0 (at least half the pairs "
            "of rows coincide), so an RBF bandwidth relative to it is undefined; "
            "use linear_cka, or drop duplicate rows"
        )
    return np.asarray(np.exp(-sq_distances / (2.0 * sigma**2 * sq_median)), dtype=np.float64)


def _centre_gram(gram: _F64) -> _F64:
    means = gram.mean(axis=0)
    means -= means.mean() / 2.0
    return np.asarray(gram - means[:, None] - means[None, :], dtype=np.float64)


def rbf_cka(
    X: npt.ArrayLike,  # noqa: N803
    Y: npt.ArrayLike,  # noqa: N803
    sigma: float = 0.8,
    *,
    max_samples: int = 2000,
    seed: int = 0,
) -> float:
    """CKA with Gaussian (RBF) kernels, on a random subsample of the examples.

    Kornblith et al. 2019, with their reference code's bandwidth rule: for each input,
    ``bandwidth^2 = sigma^2 * median(squared distances between rows)`` (the median is
    taken over all n x n pairs, diagonal included, as in their notebook), Grams
    ``K = exp(-d^2 / (2 bandwidth^2))``, centred, and

    ``CKA = <Kc, Lc>_F / (||Kc||_F ||Lc||_F)``.

    ``sigma`` is the fraction of the median distance; the paper reports 0.2, 0.4 and 0.8
    (default here) and its notebook defaults to 1.0. The Grams are n x n, so at most
    ``max_samples`` rows (the same rows of ``X`` and ``Y``) are drawn without replacement.

    Parameters
    ----------
    X, Y : array_like of shape (n, d1) and (n, d2)
        Embeddings of the same examples from two models, as for :func:`linear_cka`.
    sigma : float, default 0.8
        Bandwidth as a fraction of the median distance between rows; positive.
    max_samples : int, default 2000
        Largest number of rows used; the Grams take ``8 * max_samples**2`` bytes each.
    seed : int, default 0
        Seed of the subsample, so that the result is reproducible.

    Returns
    -------
    float
        The kernel CKA similarity, in [0, 1]; 1 for identical inputs.

    Raises
    ------
    InvalidInput
        Bad shapes or values as for :func:`linear_cka`, ``sigma <= 0``,
        ``max_samples < 2``, or a median distance of 0 (at least half the pairs of rows
        coincide, a constant input included).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(400, 6))
    >>> round(rbf_cka(X, X), 6)
    1.0
    >>> rbf_cka(X, rng.normal(size=(400, 6))) < 0.1
    True
    """
    if not (isinstance(sigma, (int, float)) and np.isfinite(sigma) and sigma > 0):
        raise InvalidInput(f"sigma is {sigma!r}; it must be a positive number")
    x, y = _two(X, Y)
    x, y = _subsample(x, y, max_samples, seed)
    _check_finite("X", x)
    _check_finite("Y", y)
    kx = _centre_gram(_rbf_gram("X", x, float(sigma)))
    ky = _centre_gram(_rbf_gram("Y", y, float(sigma)))
    value = float(np.einsum("ij,ij->", kx, ky)) / float(np.linalg.norm(kx) * np.linalg.norm(ky))
    return min(max(value, 0.0), 1.0)


def _unbiased_hsic(k: _F64, ell: _F64) -> float:
    """Song et al. 2012 unbiased HSIC of two Grams with zeroed diagonals."""
    m = k.shape[0]
    term = float(np.einsum("ij,ij->", k, ell))
    term += float(k.sum()) * float(ell.sum()) / ((m - 1) * (m - 2))
    term -= 2.0 / (m - 2) * float(k.sum(axis=0) @ ell.sum(axis=0))
    return float(term / (m * (m - 3)))


def minibatch_cka(
    X: npt.ArrayLike,  # noqa: N803
    Y: npt.ArrayLike,  # noqa: N803
    *,
    batch_size: int = 256,
    seed: int = 0,
) -> float:
    """Linear CKA from unbiased HSIC estimates averaged over minibatches.

    Nguyen, Raghu and Kornblith, "Do Wide and Deep Networks Learn the Same Things?",
    ICLR 2021: the rows are shuffled (``seed``) and split into ``k = max(1, n //
    batch_size)`` nearly equal batches; with ``HSIC1`` the unbiased estimator of Song et
    al. (2012) on linear Grams of a batch,

    ``CKA = mean HSIC1(X_i, Y_i) / sqrt(mean HSIC1(X_i, X_i) * mean HSIC1(Y_i, Y_i))``.

    Memory is O(batch_size^2), so it scales to probe sets where an n x n Gram would not
    fit. Because the estimator is unbiased it is not clipped: for unrelated inputs it
    scatters around 0 and can be slightly negative, and it converges to the population
    value rather than to the (upward-biased) :func:`linear_cka` of a small sample.

    Parameters
    ----------
    X, Y : array_like of shape (n, d1) and (n, d2)
        Embeddings of the same examples from two models, as for :func:`linear_cka`.
    batch_size : int, default 256
        Rows per minibatch (at least 4, which the unbiased estimator needs). Batches hold
        between ``batch_size`` and ``2 * batch_size - 1`` rows.
    seed : int, default 0
        Seed of the shuffle, so that the result is reproducible.

    Returns
    -------
    float
        Near 1 for identical or rotated inputs, near 0 for unrelated ones.

    Raises
    ------
    InvalidInput
        Bad shapes or values as for :func:`linear_cka`, fewer than 4 rows,
        ``batch_size < 4``, or a constant input.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(2048, 16))
    >>> round(minibatch_cka(X, X @ np.linalg.qr(rng.normal(size=(16, 16)))[0]), 6)
    1.0
    >>> abs(minibatch_cka(X, rng.normal(size=(2048, 16)))) < 0.05
    True
    """
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 4:
        raise InvalidInput(
            f"batch_size is {batch_size!r}; the unbiased HSIC estimator needs at least 4 rows"
        )
    x, y = _two(X, Y, min_rows=4)
    _check_finite("X", x)
    _check_finite("Y", y)
    if _is_constant(x):
        raise _constant("X")
    if _is_constant(y):
        raise _constant("Y")
    n = x.shape[0]
    order = np.random.default_rng(seed).permutation(n)
    xy = xx = yy = 0.0
    for rows in np.array_split(order, max(1, n // int(batch_size))):
        bx = np.asarray(x[rows], dtype=np.float64)
        by = np.asarray(y[rows], dtype=np.float64)
        kx, ky = bx @ bx.T, by @ by.T
        np.fill_diagonal(kx, 0.0)
        np.fill_diagonal(ky, 0.0)
        xy += _unbiased_hsic(kx, ky)
        xx += _unbiased_hsic(kx, kx)
        yy += _unbiased_hsic(ky, ky)
    if xx <= 0.0 or yy <= 0.0:
        raise InvalidInput(
            "the unbiased HSIC of X or Y with itself is not positive (almost no variance "
            "in these rows); use linear_cka, or a larger batch_size"
        )
    return float(xy / np.sqrt(xx * yy))


def mean_embedding_cosine(X: npt.ArrayLike, Y: npt.ArrayLike) -> float:  # noqa: N803
    """Cosine similarity of the mean embeddings of two models.

    Only meaningful when both embeddings live in the same basis (the same layer of a model
    fine-tuned from the other without re-initialising it): a rotation of ``Y``, which
    changes nothing a downstream linear probe can see, changes this value, whereas
    :func:`linear_cka` and :func:`procrustes_distance` ignore it.

    Parameters
    ----------
    X : array_like of shape (n, d)
        Embeddings from one model.
    Y : array_like of shape (n, d)
        Embeddings of the same examples from another model, with the same width.

    Returns
    -------
    float
        In [-1, 1].

    Raises
    ------
    InvalidInput
        Bad shapes or values, different widths, or a mean embedding of zero length.

    Examples
    --------
    >>> mean_embedding_cosine([[1.0, 0.0], [3.0, 0.0]], [[1.0, 1.0], [3.0, 3.0]])
    0.7071067811865475
    """
    x, y = _two(X, Y, min_rows=1)
    if x.shape[1] != y.shape[1]:
        raise InvalidInput(
            f"X has {x.shape[1]} columns and Y {y.shape[1]}; the cosine of mean embeddings "
            "needs a shared basis (use linear_cka or procrustes_distance across widths)"
        )
    _check_finite("X", x)
    _check_finite("Y", y)
    mx, my = _means(x), _means(y)
    for name, mean, rows in (("X", mx, x), ("Y", my, y)):
        # Relative to the typical row length: the mean of centred rows is rounding noise.
        if float(np.linalg.norm(mean)) <= 1e-12 * float(
            np.sqrt(np.mean(np.square(rows)) * rows.shape[1])
        ):
            raise InvalidInput(
                f"the mean embedding of {name} is (numerically) the zero vector, whose "
                "direction is undefined"
            )
    norms = float(np.linalg.norm(mx) * np.linalg.norm(my))
    return float(min(max(float(mx @ my) / norms, -1.0), 1.0))
