"""Deprecated: moved to :mod:`mlineage.stats.drift`."""

from mlineage.analysis._moved import alias

alias(__name__)
