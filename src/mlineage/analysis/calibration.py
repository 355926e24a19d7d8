"""Deprecated: moved to :mod:`mlineage.stats.calibration`."""

from mlineage.analysis._moved import alias

alias(__name__)
