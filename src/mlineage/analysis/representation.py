"""Deprecated: moved to :mod:`mlineage.stats.representation`."""

from mlineage.analysis._moved import alias

alias(__name__)
