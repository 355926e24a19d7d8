"""The prototype's ``mlineage.core.graph``: :class:`~mlineage.graph.LineageGraph`."""

from mlineage.graph import LineageEdge, LineageGraph

__all__ = ["LineageEdge", "LineageGraph"]
