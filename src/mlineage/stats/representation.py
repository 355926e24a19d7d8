"""Representation drift: how similar two models' embeddings of the same examples are.

``X`` (n, d1) and ``Y`` (n, d2) hold the embeddings of the same ``n`` examples, row ``i``
of each describing example ``i``. The widths may differ. Definitions follow the papers
named on each function; docs/behaviour.md collects them with the edge-case conventions:

- Embeddings are 2-D arrays of real numbers with the same number of rows. ``nan`` or
  ``inf`` raise :class:`~mlineage.errors.InvalidInput`; so do fewer rows than a measure
  needs.
- A constant embedding (every row the same) has no variance to compare, so similarity is
  undefined (0/0): it raises :class:`~mlineage.errors.InvalidInput` rather than returning
  ``nan``. A single constant column among varying ones is fine.
- Cosine of mean embeddings (:func:`mean_embedding_cosine`) only means something when
  both versions share a basis (the same layer of a model fine-tuned from the other, with
  no re-initialisation); CKA and Procrustes do not need that.
"""

import mlineage.stats._representation as _representation
from mlineage.stats._representation import *  # noqa: F403

__all__: list[str] = []
__all__ += _representation.__all__
