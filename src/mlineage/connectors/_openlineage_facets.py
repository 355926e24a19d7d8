"""Building OpenLineage run events with ``openlineage-python``'s own classes.

Imported by :mod:`mlineage.connectors.openlineage` on first use: this module imports the
client (and numpy, through the data profile) at module level, so ``import mlineage`` and
``import mlineage.connectors.openlineage`` stay light.
"""

from __future__ import annotations

import posixpath
import uuid
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

import attr
import numpy as np
from openlineage.client.event_v2 import (
    InputDataset,
    Job,
    OutputDataset,
    Run,
    RunEvent,
    RunState,
)
from openlineage.client.facet_v2 import (
    DatasetFacet,
    InputDatasetFacet,
    JobFacet,
    RunFacet,
    data_quality_metrics_input_dataset,
    dataset_version_dataset,
    job_type_job,
    parent_run,
    schema_dataset,
)

if TYPE_CHECKING:
    from mlineage import Tracker
    from mlineage.analysis import ColumnProfile
    from mlineage.records import DataSnapshot, ModelVersion

__all__ = ["FACET_SCHEMA_URL", "MlineageVersionFacet", "build_event", "run_id"]

#: ``_schemaURL`` of the ``mlineage`` facet; the schema ships in ``connectors/_spec/``.
FACET_SCHEMA_URL = (
    "urn:mlineage:openlineage:facets:1-0-0:MlineageVersionFacet.json#/$defs/MlineageVersionFacet"
)
#: Quantiles reported per numeric column in the data-quality facet.
QUANTILES = (0.0, 0.25, 0.5, 0.75, 1.0)


@attr.define
class MlineageVersionFacet(DatasetFacet):
    """The ``mlineage`` facet of a model dataset: the version as mlineage recorded it."""

    model: str
    version: str
    kind: str
    status: str
    createdAt: str  # noqa: N815 (OpenLineage's camelCase)
    modelPath: str  # noqa: N815
    parents: list[str] = attr.field(factory=list)
    name: str | None = attr.field(default=None)
    metrics: dict[str, float] = attr.field(factory=dict)
    hyperparameters: dict[str, Any] = attr.field(factory=dict)
    tags: list[str] = attr.field(factory=list)
    modelHash: str | None = attr.field(default=None)  # noqa: N815
    _additional_skip_redact: ClassVar[list[str]] = ["model", "version", "parents"]

    @staticmethod
    def _get_schema() -> str:
        return FACET_SCHEMA_URL


def run_id(version_id: str) -> str:
    """The OpenLineage run id of a version: its id, which is a UUIDv7 layout, as a UUID."""
    return str(uuid.UUID(hex=version_id))


def job_name(model: str) -> str:
    """The job whose runs are the model's versions."""
    return f"{model}.train"


def dataset_naming(path: str | None, model: str, namespace: str) -> tuple[str, str]:
    """(namespace, name) of a data snapshot, following OpenLineage's naming conventions.

    ``s3://b/k`` is ``("s3://b", "k")`` and ``gs://b/k`` ``("gs://b", "k")``, as the
    client's ``naming.dataset.S3``/``GCS``; any other ``scheme://host/path`` is
    ``("scheme://host", "/path")``; a local path is ``("file", path)`` (normalised, as
    recorded: relative paths stay relative); no path is ``(namespace, "<model>/data")``.
    """
    if path is None:
        return namespace, f"{model}/data"
    parts = urlsplit(path)
    if len(parts.scheme) > 1 and parts.netloc:  # one letter: a Windows drive
        name = parts.path.lstrip("/") if parts.scheme in ("s3", "gs") else parts.path
        return f"{parts.scheme}://{parts.netloc}", name or "/"
    if parts.scheme == "file":
        return "file", parts.path
    return "file", posixpath.normpath(path.replace("\\", "/"))


def _column_metrics(
    column: ColumnProfile,
) -> data_quality_metrics_input_dataset.ColumnMetrics:
    metrics = data_quality_metrics_input_dataset.ColumnMetrics(
        nullCount=column.missing, count=float(column.count), quantiles=None
    )
    if column.kind == "categorical":
        if column.count_error == 0 and column.other == 0:  # exact counts
            metrics.distinctCount = len(column.categories)
        return metrics
    if column.count:
        assert column.min is not None and column.max is not None and column.mean is not None
        metrics.min, metrics.max = column.min, column.max
        metrics.sum = column.mean * column.count
        values = column.quantiles(QUANTILES)
        metrics.quantiles = {str(q): float(v) for q, v in zip(QUANTILES, values, strict=True)}
        if column.is_exact:
            metrics.distinctCount = int(np.unique(column.values).size)
    return metrics


def _data_input(
    tracker: Tracker, version: ModelVersion, namespace: str, producer: str
) -> InputDataset:
    snapshot: DataSnapshot = version.dataset
    ds_namespace, name = dataset_naming(snapshot.path, tracker.model, namespace)
    facets = {"version": _version_facet(snapshot.hash, producer)}
    input_facets: dict[str, InputDatasetFacet] = {}
    types = dict(snapshot.columns or {})
    fields = [schema_dataset.SchemaDatasetFacetFields(name=c, type=t) for c, t in types.items()]
    if snapshot.profile is not None:
        profile = tracker.analysis.profile(version)
        label = profile.label_profile
        columns = [*profile, *([label] if label is not None else [])]
        fields = [
            schema_dataset.SchemaDatasetFacetFields(
                name=c.name,
                type=types.get(c.name, c.kind),
                description="label" if c is label else None,
            )
            for c in columns
        ]
        input_facets["dataQualityMetrics"] = (
            data_quality_metrics_input_dataset.DataQualityMetricsInputDatasetFacet(
                columnMetrics={c.name: _column_metrics(c) for c in columns},
                rowCount=profile.num_rows,
                bytes=snapshot.size,
                fileCount=snapshot.num_files,
                producer=producer,
            )
        )
    if fields:
        facets["schema"] = schema_dataset.SchemaDatasetFacet(fields=fields, producer=producer)
    return InputDataset(namespace=ds_namespace, name=name, facets=facets, inputFacets=input_facets)


def _version_facet(dataset_version: str, producer: str) -> DatasetFacet:
    return dataset_version_dataset.DatasetVersionDatasetFacet(
        datasetVersion=dataset_version, producer=producer
    )


def build_event(
    tracker: Tracker, version: ModelVersion, *, namespace: str, producer: str
) -> RunEvent:
    """The COMPLETE run event of one version (docs/connectors.md, "OpenLineage")."""
    model = tracker.model
    job = job_name(model)
    run_facets: dict[str, RunFacet] = {}
    if version.parents:
        run_facets["parent"] = parent_run.ParentRunFacet(
            run=parent_run.Run(runId=run_id(version.parents[0])),
            job=parent_run.Job(namespace=namespace, name=job),
            producer=producer,
        )
    job_facets: dict[str, JobFacet] = {
        "jobType": job_type_job.JobTypeJobFacet(
            processingType="BATCH", integration="MLINEAGE", jobType="TRAINING", producer=producer
        )
    }
    inputs = [_data_input(tracker, version, namespace, producer)]
    inputs += [
        InputDataset(
            namespace=namespace, name=model, facets={"version": _version_facet(p, producer)}
        )
        for p in version.parents
    ]
    artifact = version.model_artifact
    outputs = [
        OutputDataset(
            namespace=namespace,
            name=model,
            facets={
                "version": _version_facet(version.id, producer),
                "mlineage": MlineageVersionFacet(
                    model=model,
                    version=version.id,
                    kind=version.kind,
                    status=tracker.status(version).value,
                    createdAt=version.created_at.isoformat(),
                    modelPath=version.model_path,
                    parents=list(version.parents),
                    name=version.name,
                    metrics=dict(version.metrics),
                    hyperparameters=dict(version.hyperparameters),
                    tags=tracker.tags(version),
                    modelHash=None if artifact is None else artifact.hash,
                    producer=producer,
                ),
            },
        )
    ]
    return RunEvent(
        eventType=RunState.COMPLETE,
        eventTime=version.created_at.isoformat(),
        run=Run(runId=run_id(version.id), facets=run_facets),
        job=Job(namespace=namespace, name=job, facets=job_facets),
        inputs=inputs,
        outputs=outputs,
        producer=producer,
    )
