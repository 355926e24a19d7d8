"""The prototype's ``mlineage.core.models``: the record classes, re-exported."""

from mlineage.graph import LineageEdge
from mlineage.records import DataSnapshot, EnvironmentSnapshot, ModelVersion, VersionStatus

__all__ = ["DataSnapshot", "EnvironmentSnapshot", "LineageEdge", "ModelVersion", "VersionStatus"]
