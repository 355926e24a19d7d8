"""The prototype's import paths (``mlineage.core.models``, ``.graph``, ``.tracker``).

Thin modules that re-export the real classes, so code written against the prototype runs
unchanged; there is no second implementation here. New code imports from ``mlineage``.
"""
