"""MLflow, both directions: an experiment's finished runs as versions, and versions as runs.

Needs ``pip install 'mlineage[mlflow]'``. What maps to what, and what is lost, is in
docs/connectors.md#mlflow. Only the public tracker API is used; MLflow is read and written
through its own ``MlflowClient`` (any tracking URI: a ``sqlite:///`` file, a server).
"""

from __future__ import annotations

import ast
import json
import math
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import mlineage as ml
from mlineage.connectors._common import (
    ImportSummary,
    Planned,
    Progress,
    require,
    unrecorded_snapshot,
    write_plan,
)
from mlineage.errors import (
    InvalidInput,
    InvalidName,
    LookupFailed,
    SourceNotFound,
    VersionNotFound,
)
from mlineage.records import validate_name

if TYPE_CHECKING:
    from mlineage import Tracker

__all__ = ["export", "import_runs", "param_value", "param_text"]

SYSTEM = "mlflow"
#: Evidence kind of a run's full metric history (``import_runs(metric_history=True)``).
HISTORY_KIND = "mlflow-metric-history"
#: Tags ``export`` writes so that a run can be traced back, and parentage re-imported.
VERSION_TAG = "mlineage.version_id"
PARENTS_TAG = "mlineage.parents"
KIND_TAG = "mlineage.kind"
_NESTED_TAG = "mlflow.parentRunId"
_NAME_TAG = "mlflow.runName"
_NOTE_TAG = "mlflow.note.content"
_PAGE = 1000
_MAX_TAG = 256


def param_value(text: str) -> Any:
    """An MLflow parameter (always a string) typed back to the value it was logged from.

    MLflow stores ``str(value)``. A string is typed only when that is unambiguous: when the
    typed value's ``str()`` is exactly the stored text, so exporting it writes the same
    string back. ``"3"`` -> ``3``, ``"0.001"`` -> ``0.001``, ``"1e-05"`` -> ``1e-05``,
    ``"True"``/``"False"`` -> bools, ``"None"`` -> None, ``"[1, 2]"`` and
    ``"{'depth': 3}"`` (what MLflow writes for a list or dict) -> the list or dict, when
    their items are JSON values. Everything else stays a string: ``"007"``, ``"0.10"``,
    ``"true"``, ``"nan"``, ``"inf"``, JSON text such as ``'{"a": 1}'`` (MLflow would
    write it back as ``{'a': 1}``).

    Examples
    --------
    >>> [param_value(s) for s in ["3", "0.001", "True", "None", "[1, 2]", "007", "nan"]]
    [3, 0.001, True, None, [1, 2], '007', 'nan']
    """
    if text in ("True", "False"):
        return text == "True"
    if text == "None":
        return None
    value: Any = text
    try:
        if text[:1] in ("[", "{") and len(text) <= 10_000:
            value = ast.literal_eval(text)
            if not isinstance(value, (list, dict)) or not _is_json(value):
                return text
        elif text[:1].isdigit() or text[:1] == "-":
            value = float(text) if any(c in text for c in ".eE") else int(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text
    if isinstance(value, float) and not math.isfinite(value):
        return text
    return value if str(value) == text else text


def _is_json(value: object) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_is_json(v) for v in value)
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None or isinstance(value, (str, int, bool))


def param_text(value: object) -> str:
    """What MLflow stores for a hyperparameter: ``str(value)`` (the inverse of
    :func:`param_value` for every value it types).

    Examples
    --------
    >>> param_text(0.001), param_text(True), param_text([1, 2])
    ('0.001', 'True', '[1, 2]')
    """
    return str(value)


def _client(tracking_uri: str | None) -> Any:
    mlflow = require("mlflow", "mlflow")
    return mlflow.MlflowClient(tracking_uri)


def _pages(search: Any, **kwargs: Any) -> Iterator[Any]:
    token = None
    while True:
        page = search(page_token=token, **kwargs)
        yield from page
        token = page.token
        if not token:
            return


def _experiment(client: Any, experiment: str, tracking_uri: str | None) -> Any:
    found = client.get_experiment_by_name(experiment)
    if found is None and experiment.isdigit():
        mlflow = require("mlflow", "mlflow")
        try:
            found = client.get_experiment(experiment)
        except mlflow.exceptions.MlflowException:
            found = None
    if found is None:
        where = tracking_uri or "the default tracking URI"
        raise SourceNotFound(
            f"MLflow experiment {experiment!r} not found at {where}; check the name (or id) "
            "with `mlflow experiments search` or MlflowClient().search_experiments(); "
            "nothing was imported"
        )
    return found


def _time(millis: int | None) -> datetime | None:
    return None if millis is None else datetime.fromtimestamp(millis / 1000, timezone.utc)


def _iso(millis: int | None) -> str | None:
    when = _time(millis)
    return None if when is None else when.isoformat()


def _dataset_entry(dataset_input: Any) -> dict[str, Any]:
    dataset = dataset_input.dataset
    context = {t.key: t.value for t in dataset_input.tags}.get("mlflow.data.context")
    return {
        "name": dataset.name,
        "digest": dataset.digest,
        "source_type": dataset.source_type,
        "source": dataset.source,
        "context": context,
    }


def _snapshot(datasets: list[dict[str, Any]], run_id: str) -> ml.DataSnapshot:
    """The training dataset input (else the first), its digest named as MLflow's own."""
    if not datasets:
        return unrecorded_snapshot(f"MLflow run {run_id} logged no dataset input")
    chosen = next((d for d in datasets if d["context"] == "training"), datasets[0])
    path = chosen["source"]
    try:
        source = json.loads(path)
        if isinstance(source, dict) and isinstance(source.get("uri"), str):
            path = source["uri"]
    except ValueError:
        pass
    return ml.DataSnapshot(
        path=path,
        hash=f"mlflow-digest:{chosen['digest']}",
        source="reference",
        metadata={"mlflow_dataset": chosen},
    )


def _free_name(tracker: Tracker, name: str | None, used: set[str]) -> str | None:
    """The run name as the version name, if it is a valid name nothing else uses."""
    if not name or name in used:
        return None
    try:
        validate_name(name, "version name")
        tracker.get_version(name)
    except VersionNotFound:
        used.add(name)
        return name
    except (InvalidName, LookupFailed):  # not a name, or an id prefix of several versions
        return None
    return None


def _tags(tags: dict[str, str]) -> list[str]:
    return [
        f"{k}={v}"
        for k, v in sorted(tags.items())
        if not k.startswith(("mlflow.", "mlineage."))
        and len(k) + len(v) < _MAX_TAG
        and all(ord(c) >= 32 for c in k + v)
    ]


def _plan_run(
    tracker: Tracker, client: Any, run: Any, used: set[str], metric_history: bool
) -> Planned:
    info, data = run.info, run.data
    datasets = [_dataset_entry(d) for d in run.inputs.dataset_inputs] if run.inputs else []
    models = [o.model_id for o in run.outputs.model_outputs] if run.outputs else []
    metrics = {k: v for k, v in data.metrics.items() if math.isfinite(v)}
    extra: dict[str, Any] = {
        "experiment_id": info.experiment_id,
        "run_name": info.run_name,
        "start_time": _iso(info.start_time),
        "end_time": _iso(info.end_time),
    }
    evidence: dict[str, Any] = {}
    if metric_history and data.metrics:
        evidence[HISTORY_KIND] = {
            key: [
                {
                    "step": m.step,
                    "timestamp": m.timestamp,
                    "value": m.value if math.isfinite(m.value) else None,
                }
                for m in client.get_metric_history(info.run_id, key)
            ]
            for key in sorted(data.metrics)
        }
    fields = {
        "model_path": f"models:/{models[0]}" if models else info.artifact_uri,
        "dataset": _snapshot(datasets, info.run_id),
        "metrics": metrics,
        "hyperparameters": {k: param_value(v) for k, v in data.params.items()},
        "name": _free_name(tracker, info.run_name, used),
        "notes": data.tags.get(_NOTE_TAG, ""),
        "tags": _tags(data.tags),
        "metadata": {
            "mlflow": {
                "run_id": info.run_id,
                "run_name": info.run_name,
                "tags": dict(data.tags),
                "datasets": datasets,
                "models": models,
                "artifact_uri": info.artifact_uri,
                "dropped_metrics": sorted(set(data.metrics) - set(metrics)),
            }
        },
    }
    return Planned(
        id=info.run_id,
        origin=ml.Origin(system=SYSTEM, id=info.run_id, uri=f"runs:/{info.run_id}", extra=extra),
        fields=fields,
        kind=data.tags.get(KIND_TAG),
        timestamp=_time(info.start_time),
        evidence=evidence,
    )


def _parents(run: Any, known: Callable[[str], bool], parent_tag: str | None) -> tuple[str, ...]:
    """Nested runs hang from their parent run; then the user's tag; then the parents an
    ``export`` recorded; empty: the run joins the chronological chain."""
    tags = run.data.tags
    for key in (_NESTED_TAG, parent_tag):
        if key is not None and key in tags and known(tags[key]):
            return (tags[key],)
    return tuple(p for p in tags.get(PARENTS_TAG, "").split(",") if p and known(p))


def _aliases(client: Any, runs: set[str], prefix: str) -> list[tuple[str, str]]:
    """(mlineage alias, run id) for each registered-model alias pointing at one of ``runs``."""
    found: dict[str, tuple[str, str]] = {}
    for model in _pages(client.search_registered_models, max_results=_PAGE):
        for alias, number in sorted(model.aliases.items()):
            run_id = client.get_model_version(model.name, str(number)).run_id
            if run_id not in runs:
                continue
            name = validate_name(prefix + alias, "alias")
            if name in found and found[name][0] != model.name:
                raise InvalidInput(
                    f"alias {alias!r} is set on registered models {found[name][0]!r} and "
                    f"{model.name!r}, which both come from this experiment; import them "
                    "into separate trackers, or give alias_prefix=; nothing was imported"
                )
            found[name] = (model.name, run_id)
    return [(name, run_id) for name, (_, run_id) in found.items()]


def import_runs(
    tracker: Tracker,
    experiment: str,
    tracking_uri: str | None = None,
    filter_string: str | None = None,
    parent_tag: str | None = None,
    *,
    alias_prefix: str = "",
    metric_history: bool = False,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportSummary:
    """Import an MLflow experiment's finished runs as versions of ``tracker``'s model.

    Each finished run becomes a version (docs/connectors.md#mlflow has the whole mapping):
    params -> hyperparameters (typed back by :func:`param_value`), final metrics (the last
    value of each history) -> metrics, run name -> version name (when free), user tags ->
    ``key=value`` tags, ``mlflow.note.content`` -> notes, the logged model
    (``models:/<id>``) or the artifact URI -> ``model_path``, the training dataset input ->
    ``dataset`` (its digest kept as ``mlflow-digest:<digest>``, never as a sha256), start
    time -> creation time. Parentage: a nested run hangs from its parent run
    (``mlflow.parentRunId``), else from the run named by its ``parent_tag`` tag, else from
    the parents an :func:`export` recorded, else from the run before it in a
    chronological first-parent chain. A registered model's alias pointing at one of the
    runs becomes the mlineage alias ``alias_prefix + alias``. Runs imported before are
    skipped (by their origin); failed, killed and unfinished runs are counted as failed.

    Parameters
    ----------
    tracker : Tracker
        Where the versions go (one experiment -> one model).
    experiment : str
        The experiment's name (or id).
    tracking_uri : str, optional
        MLflow tracking URI (``sqlite:///mlflow.db``, ``http://...``); default MLflow's own.
    filter_string : str, optional
        MLflow search filter (``"metrics.acc > 0.9"``).
    parent_tag : str, optional
        A run tag whose value is the parent run's id.
    alias_prefix : str
        Prepended to each imported alias (``"mlflow-"``).
    metric_history : bool
        Also keep each run's full metric history, as a JSON evidence payload of kind
        ``"mlflow-metric-history"`` (one ``get_metric_history`` read per metric).
    dry_run : bool
        Read everything and report what would be imported; write nothing.
    progress : callable, optional
        Called as ``progress(done, total)`` after each run.

    Returns
    -------
    ImportSummary
        Run ids added, skipped and failed; ``versions`` maps run ids to version ids.

    Raises
    ------
    MissingDependency
        ``mlflow`` is not installed.
    SourceNotFound
        No such experiment at that tracking URI; nothing written.
    InvalidInput
        One alias name on two registered models of the experiment; nothing written.
    """
    mlflow = require("mlflow", "mlflow")
    client = _client(tracking_uri)
    found = _experiment(client, experiment, tracking_uri)
    runs = list(
        _pages(
            client.search_runs,
            experiment_ids=[found.experiment_id],
            filter_string=filter_string or "",
            run_view_type=mlflow.entities.ViewType.ACTIVE_ONLY,
            max_results=_PAGE,
            order_by=["attributes.start_time ASC", "attributes.run_id ASC"],
        )
    )
    failed = {
        r.info.run_id: f"run status {r.info.status}: only FINISHED runs are imported"
        for r in runs
        if r.info.status != "FINISHED"
    }
    finished = [r for r in runs if r.info.status == "FINISHED"]
    ids = {r.info.run_id for r in finished}

    def known(run_id: str) -> bool:
        return run_id in ids or bool(tracker.find_origin(SYSTEM, run_id))

    plan: list[Planned] = []
    used: set[str] = set()
    chain: str | None = None
    for run in finished:
        item = _plan_run(tracker, client, run, used, metric_history)
        item.parents = _parents(run, known, parent_tag)
        if not item.parents:
            item.parents = () if chain is None else (chain,)
            chain = run.info.run_id
        plan.append(item)
    aliases = _aliases(client, ids, alias_prefix)
    source = f"experiment {found.name!r} ({tracking_uri or 'default tracking URI'})"
    return write_plan(
        tracker,
        SYSTEM,
        source,
        plan,
        failed=failed,
        aliases=aliases,
        dry_run=dry_run,
        progress=progress,
    )


def _millis(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def _exported(client: Any, experiment_id: str) -> dict[str, str]:
    """Version id -> run id of the runs an earlier export wrote into the experiment."""
    runs = _pages(
        client.search_runs,
        experiment_ids=[experiment_id],
        filter_string=f"tags.`{VERSION_TAG}` != ''",
        max_results=_PAGE,
    )
    return {r.data.tags[VERSION_TAG]: r.info.run_id for r in runs}


def export(
    tracker: Tracker,
    tracking_uri: str | None = None,
    experiment: str | None = None,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportSummary:
    """Write ``tracker``'s versions as runs of an MLflow experiment (created if missing).

    Each version becomes a finished run, oldest first: hyperparameters -> params (as
    :func:`param_text`), metrics -> metrics (at step 0), the version's MLflow run name (or
    its name, else its id) -> run name, its MLflow tags (or ``key=value`` tags) -> tags,
    notes -> ``mlflow.note.content``, creation time -> start and end time (an imported
    run's own times when recorded). Parentage is written as tags: the parents' run ids in
    ``mlineage.parents`` (and ``mlflow.parentRunId`` for a version imported from a nested
    run), the version id in ``mlineage.version_id``, its kind in ``mlineage.kind``; so
    :func:`import_runs` of the exported experiment restores names, params, metrics and
    parentage. Versions an earlier export wrote (found by ``mlineage.version_id``) are
    skipped.

    Parameters
    ----------
    tracker : Tracker
    tracking_uri : str, optional
        MLflow tracking URI; default MLflow's own.
    experiment : str, optional
        Experiment name; default the model's name.
    dry_run : bool
        Report what would be exported; write nothing.
    progress : callable, optional
        Called as ``progress(done, total)`` after each version.

    Returns
    -------
    ImportSummary
        Here ``added`` and ``skipped`` hold version ids, and ``versions`` maps each version
        exported now to its new run id.

    Raises
    ------
    MissingDependency
        ``mlflow`` is not installed.
    """
    mlflow = require("mlflow", "mlflow")
    entities = mlflow.entities
    client = _client(tracking_uri)
    name = experiment or tracker.model
    found = client.get_experiment_by_name(name)
    if found is None and dry_run:
        done: dict[str, str] = {}
    else:
        experiment_id = client.create_experiment(name) if found is None else found.experiment_id
        done = _exported(client, experiment_id)
    versions = sorted(tracker.versions(), key=lambda v: (v.created_at, v.id))
    added: list[str] = []
    skipped: list[str] = []
    for count, version in enumerate(versions, 1):
        if version.id in done:
            skipped.append(version.id)
        elif dry_run:
            added.append(version.id)
        else:
            done[version.id] = _export_one(client, entities, experiment_id, version, done)
            added.append(version.id)
        if progress is not None:
            progress(count, len(versions))
    return ImportSummary(
        system=SYSTEM,
        source=f"export of model {tracker.model!r} to experiment {name!r}",
        added=tuple(added),
        skipped=tuple(skipped),
        versions={v: done[v] for v in added if v in done},
        dry_run=dry_run,
    )


def _export_one(
    client: Any, entities: Any, experiment_id: str, version: ml.ModelVersion, runs: dict[str, str]
) -> str:
    imported = version.metadata.get("mlflow")
    imported = imported if isinstance(imported, dict) else {}
    own_tags = imported.get("tags")
    if isinstance(own_tags, dict):
        tags = {str(k): str(v) for k, v in own_tags.items() if not str(k).startswith("mlflow.")}
    else:
        tags = dict(t.split("=", 1) for t in version.tags if "=" in t)
    parents = [runs[p] for p in version.parents if p in runs]
    if parents:
        tags[PARENTS_TAG] = ",".join(parents)
        if isinstance(own_tags, dict) and _NESTED_TAG in own_tags:
            tags[_NESTED_TAG] = parents[0]
    tags[VERSION_TAG] = version.id
    tags[KIND_TAG] = version.kind
    if version.notes:
        tags[_NOTE_TAG] = version.notes
    run_name = imported.get("run_name") or version.name or version.id
    extra = version.origin.extra if version.origin is not None else {}
    start = extra.get("start_time") if version.origin is not None else None
    end = extra.get("end_time")
    started = _millis(datetime.fromisoformat(start)) if isinstance(start, str) else None
    ended = _millis(datetime.fromisoformat(end)) if isinstance(end, str) else None
    created = _millis(version.created_at)
    run = client.create_run(
        experiment_id, start_time=started or created, tags=tags, run_name=str(run_name)
    )
    run_id: str = run.info.run_id
    client.log_batch(
        run_id,
        metrics=[entities.Metric(k, v, ended or created, 0) for k, v in version.metrics.items()],
        params=[entities.Param(k, param_text(v)) for k, v in version.hyperparameters.items()],
    )
    client.set_terminated(run_id, "FINISHED", end_time=ended or created)
    return run_id
