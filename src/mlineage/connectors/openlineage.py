"""Send a model's lineage out as OpenLineage run events (Marquez, DataHub, a data platform).

Each version becomes one ``COMPLETE`` :class:`openlineage.client.event_v2.RunEvent` of the
job ``<model>.train``, built with ``openlineage-python``'s own classes: the run id is the
version id read as a UUID (so exporting again sends the same events), the inputs are its
data snapshot (schema, dataset version = content hash, data-quality metrics from the
stored profile) and the model versions it was trained from, the output is the model with
the ``mlineage`` facet (version id, parents, kind, metrics, ...), and a ``parent`` run
facet points at the first parent's run. docs/connectors.md ("OpenLineage") maps every
field. Needs ``pip install 'mlineage[openlineage]'``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from mlineage import __version__
from mlineage.errors import ExportFailed, InvalidInput, MissingDependency

if TYPE_CHECKING:
    from openlineage.client.event_v2 import RunEvent

    from mlineage import Tracker
    from mlineage.records import ModelVersion

__all__ = [
    "DEFAULT_NAMESPACE",
    "PRODUCER",
    "check_url",
    "events",
    "facet_schema",
    "post",
    "to_dicts",
    "to_ndjson",
]

#: The namespace of the job and of the model datasets unless one is given.
DEFAULT_NAMESPACE = "mlineage"
#: The ``producer`` of every event and facet unless one is given.
PRODUCER = f"urn:mlineage:{__version__}"
_INSTALL = "pip install 'mlineage[openlineage]'"


def _facets() -> Any:
    """The event builder, importing ``openlineage-python`` (``MissingDependency`` if absent)."""
    try:
        from mlineage.connectors import _openlineage_facets
    except ImportError as exc:
        if (exc.name or "").split(".")[0] not in ("openlineage", "attr", "requests"):
            raise
        raise MissingDependency(
            f"exporting to OpenLineage needs openlineage-python: {_INSTALL} ({exc})"
        ) from exc
    return _openlineage_facets


def _check_text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip() or any(ord(c) < 32 for c in value):
        raise InvalidInput(
            f"{what} must be a non-empty str without control characters, got {value!r:.60}"
        )
    return value


def events(
    tracker: Tracker,
    ref: str | ModelVersion | None = None,
    *,
    namespace: str = DEFAULT_NAMESPACE,
    producer: str = PRODUCER,
) -> list[RunEvent]:
    """The OpenLineage run events of a model's versions, parents before children.

    Parameters
    ----------
    tracker : Tracker
        The model (only read).
    ref : str or ModelVersion, optional
        Only this version and its ancestors (through every parent); default: every version.
    namespace : str
        The OpenLineage namespace of the job ``<model>.train`` and of the model datasets.
    producer : str
        The URI recorded as each event's and facet's ``producer``.

    Returns
    -------
    list of openlineage.client.event_v2.RunEvent
        One ``COMPLETE`` event per version (equal events for the same store, whenever
        built: the run id is the version id, the event time its creation time).

    Raises
    ------
    MissingDependency
        ``openlineage-python`` is not installed.
    InvalidInput
        An empty ``namespace`` or ``producer``, or a ``producer`` that is not a URI.
    VersionNotFound, AmbiguousReference
        ``ref`` names no version, or several.
    ProfileNotFound, CorruptRecord
        A snapshot's profile blob is missing or damaged (``mlineage fsck`` reports it).

    Examples
    --------
    >>> import mlineage as ml
    >>> from mlineage.connectors import openlineage
    >>> t = ml.Tracker("doc-ol", storage="memory://doc-ol", capture_environment=False)
    >>> v1 = t.log(model_path="m1.pt", dataset=ml.DataSnapshot(hash="sha256:0"))
    >>> v2 = t.log(model_path="m2.pt", dataset=ml.DataSnapshot(hash="sha256:1"))
    >>> [e.run.runId.replace("-", "") for e in openlineage.events(t)] == [v1.id, v2.id]
    True
    """
    _check_text(namespace, "namespace")
    if not urlsplit(_check_text(producer, "producer")).scheme:
        raise InvalidInput(f"producer must be a URI (scheme:...), got {producer!r:.60}")
    facets = _facets()
    versions = tracker.graph.topological_order()
    if ref is not None:
        head = tracker.get_version(ref)
        wanted = {v.id for v in tracker.lineage(head).ancestors()} | {head.id}
        versions = [v for v in versions if v.id in wanted]
    return [
        facets.build_event(tracker, v, namespace=namespace, producer=producer) for v in versions
    ]


def to_dicts(run_events: Iterable[RunEvent]) -> list[dict[str, Any]]:
    """The events as JSON-ready dicts, as the client serialises them (``None`` left out)."""
    from openlineage.client.serde import Serde

    return [Serde.to_dict(event) for event in run_events]


def to_ndjson(run_events: Iterable[RunEvent]) -> str:
    """The events as newline-delimited JSON, one event a line (the client's ``Serde``)."""
    from openlineage.client.serde import Serde

    return "".join(Serde.to_json(event) + "\n" for event in run_events)


def facet_schema() -> dict[str, Any]:
    """The JSON Schema of the ``mlineage`` facet (its ``_schemaURL`` is the schema's ``$id``)."""
    text = resources.files("mlineage.connectors").joinpath("_spec/MlineageVersionFacet.json")
    schema: dict[str, Any] = json.loads(text.read_text(encoding="utf-8"))
    return schema


def check_url(url: object) -> str:
    """Check that ``url`` is an http(s) URL with a host, as :func:`post` needs.

    Parameters
    ----------
    url : str
        ``http(s)://host[:port][/path]``.

    Returns
    -------
    str
        ``url``, unchanged.

    Raises
    ------
    InvalidInput
        Not a string, another scheme, no host, or a bad port.

    Examples
    --------
    >>> check_url("http://localhost:5000")
    'http://localhost:5000'
    """
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(
            f"the OpenLineage URL must be http(s)://host[:port][/path], such as "
            f"http://localhost:5000 for Marquez; got {url!r:.80}"
        )
    try:
        parts.port  # noqa: B018 (a bad port raises only when read)
    except ValueError:
        raise InvalidInput(f"the OpenLineage URL {url!r:.80} has an invalid port") from None
    return url  # type: ignore[return-value]  # a str: checked above


def post(
    run_events: Iterable[RunEvent],
    url: str,
    *,
    endpoint: str = "api/v1/lineage",
    api_key: str | None = None,
    timeout: float = 5.0,
    retries: int = 3,
) -> int:
    """Send events, in order, with the client's own ``HttpTransport``.

    Parameters
    ----------
    run_events : iterable of RunEvent
        What :func:`events` returns.
    url : str
        The OpenLineage server, ``http(s)://host[:port]`` (Marquez: ``http://localhost:5000``).
    endpoint : str
        Path of the lineage endpoint under ``url``.
    api_key : str, optional
        Sent as ``Authorization: Bearer <api_key>``.
    timeout : float
        Seconds per request.
    retries : int
        Retries per event on connection errors and 429/5xx answers (urllib3's ``Retry``).

    Returns
    -------
    int
        The number of events sent.

    Raises
    ------
    InvalidInput
        ``url`` is not an http(s) URL (nothing is sent).
    ExportFailed
        The server could not be reached or answered with an error; the message says how
        many events were sent before. Sending again is safe: run ids are deterministic.
    MissingDependency
        ``openlineage-python`` is not installed.
    """
    url = check_url(url)
    _facets()
    import requests
    from openlineage.client.transport.http import (
        ApiKeyTokenProvider,
        HttpConfig,
        HttpTransport,
        TokenProvider,
    )

    auth = ApiKeyTokenProvider({"api_key": api_key}) if api_key else TokenProvider({})
    retry = {"total": retries, "backoff_factor": 0.3, "status_forcelist": [429, 500, 502, 503, 504]}
    config = HttpConfig(url=url, endpoint=endpoint, timeout=timeout, auth=auth, retry=retry)
    transport = HttpTransport(config)
    sent = 0
    try:
        for event in run_events:
            try:
                transport.emit(event)
            except requests.RequestException as exc:
                status = getattr(exc.response, "status_code", None)
                why = f"HTTP {status}" if status is not None else type(exc).__name__
                raise ExportFailed(
                    f"OpenLineage endpoint {url.rstrip('/')}/{endpoint.lstrip('/')} refused "
                    f"event {sent + 1} (run {event.run.runId}): {why}; {sent} event(s) were "
                    "sent before it. Sending again is safe (same run ids): check the URL "
                    "and that the server is up"
                ) from exc
            sent += 1
    finally:
        transport.close()
    return sent
