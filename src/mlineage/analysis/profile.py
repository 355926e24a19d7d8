"""Deprecated: moved to :mod:`mlineage.stats.profile`."""

from mlineage.analysis._moved import alias

alias(__name__)
