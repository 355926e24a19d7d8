"""Deprecated: moved to :mod:`mlineage.stats.probes`."""

from mlineage.analysis._moved import alias

alias(__name__)
