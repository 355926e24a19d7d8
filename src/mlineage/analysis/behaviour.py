"""Deprecated: moved to :mod:`mlineage.stats.behaviour`."""

from mlineage.analysis._moved import alias

alias(__name__)
