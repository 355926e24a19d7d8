"""Analysis of a lineage: data profiles, drift statistics and change points.

The modules are plain functions of arrays and profiles (:mod:`mlineage.analysis.stats`,
:mod:`mlineage.analysis.profile`, :mod:`mlineage.analysis.changepoints`); nothing here is
imported by ``import mlineage``.
"""
