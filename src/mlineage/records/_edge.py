"""The prototype's explicit lineage edge record (``LineageGraph.add_edge``)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, JsonValue

from mlineage.errors import InvalidRecord
from mlineage.records._base import Record

__all__ = ["LineageEdge"]


class LineageEdge(Record):
    """An edge of the lineage: ``source_id`` (parent) -> ``target_id`` (child).

    Edges normally come from a version's ``parents``; :meth:`LineageGraph.add_edge` adds
    one explicitly (the prototype's API).

    Examples
    --------
    >>> LineageEdge("a" * 32, "b" * 32).edge_type
    'update'
    """

    source_id: str
    target_id: str
    edge_type: str = "update"
    metadata: dict[str, JsonValue] = Field(default_factory=dict)

    @classmethod
    def _prepare_arguments(cls, args: tuple[Any, ...], data: dict[str, Any]) -> dict[str, Any]:
        names = ("source_id", "target_id", "edge_type", "metadata")
        if len(args) > len(names):
            raise InvalidRecord(f"LineageEdge takes at most {len(names)} arguments")
        for name, value in zip(names, args, strict=False):
            if name in data:
                raise InvalidRecord(f"LineageEdge got two values for {name!r}")
            data[name] = value
        return data
