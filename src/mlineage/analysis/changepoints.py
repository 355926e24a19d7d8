"""Deprecated: moved to :mod:`mlineage.stats.changepoints`."""

from mlineage.analysis._moved import alias

alias(__name__)
