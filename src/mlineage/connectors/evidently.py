"""Evidently's reports on the lineage: attach one to the version it is about, or run one.

An Evidently 0.7 report (a ``Snapshot``, what ``Report.run`` returns) is stored as it
serialises itself (``snapshot.json()``: ``{"metrics": [...], "tests": [...]}``) in the
payload blob of an evidence event of kind ``"evidently"``, with a small summary in the
record: the share and number of drifted columns, which columns drifted, and the dataset
verdict (docs/connectors.md, "Evidently"). Reading a saved report needs nothing
installed; running one needs ``pip install 'mlineage[evidently]'`` (Evidently 0.7 needs
pandas < 3).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Mapping
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlineage.errors import InvalidInput, MissingDependency

if TYPE_CHECKING:
    from mlineage import Tracker
    from mlineage.records import EvidenceEvent, ModelVersion

__all__ = ["KIND", "attach", "run", "summarise"]

#: The evidence kind these events are stored under.
KIND = "evidently"
_INSTALL = "pip install 'mlineage[evidently]'"
_VALUE_DRIFT = "evidently:metric_v2:ValueDrift"
_DRIFTED_COUNT = "evidently:metric_v2:DriftedColumnsCount"
#: Most drifted column names kept in a summary (a record's summary is at most 16 KiB).
MAX_COLUMNS = 200

_lt: Callable[[float, float], bool] = lambda score, t: score < t  # noqa: E731
_le: Callable[[float, float], bool] = lambda score, t: score <= t  # noqa: E731
_ge: Callable[[float, float], bool] = lambda score, t: score >= t  # noqa: E731
_gt: Callable[[float, float], bool] = lambda score, t: score > t  # noqa: E731
#: How Evidently 0.7 decides that a column drifted, by its stat test's display name (as
#: in ``evidently/legacy/calculations/stattests/*.py``): p-values drift below the
#: threshold, distances at or above it.
DRIFT_RULES: dict[str, Callable[[float, float], bool]] = {
    "K-S p_value": _le,
    "Cramer-von Mises": _le,
    "chi-square p_value": _lt,
    "Z-test p_value": _lt,
    "Anderson-Darling": _lt,
    "Epps-Singleton": _lt,
    "Fisher's Exact test": _lt,
    "g_test": _lt,
    "Mann-Whitney U-rank test": _lt,
    "empirical_mmd": _lt,
    "t_test": _lt,
    "Total-Variation-Distance": _lt,
    "Wasserstein distance (normed)": _ge,
    "Jensen-Shannon distance": _ge,
    "Kullback-Leibler divergence": _ge,
    "PSI": _ge,
    "Hellinger distance": _ge,
    "Energy-distance": _gt,
}


def _not_a_report(where: str, why: str) -> InvalidInput:
    return InvalidInput(
        f"{where} is not an Evidently report: {why}; pass the Snapshot that Report.run() "
        "returns, its .dict(), or its .json() text (or a file saved with save_json); "
        "nothing was written"
    )


def _finite(value: Any) -> tuple[Any, int]:
    """``value`` with NaN and infinities as None (strict JSON), and how many there were."""
    if isinstance(value, float) and not math.isfinite(value):
        return None, 1
    if isinstance(value, dict):
        pairs = [(k, _finite(v)) for k, v in value.items()]
        return {k: v for k, (v, _) in pairs}, sum(n for _, (_, n) in pairs)
    if isinstance(value, list):
        items = [_finite(v) for v in value]
        return [v for v, _ in items], sum(n for _, n in items)
    return value, 0


def _from_dump(data: dict[str, Any]) -> dict[str, Any]:
    """Evidently's full dump (``snapshot.dump_dict()``) as its ``dict()`` form."""
    try:
        from evidently.core.report import Snapshot
    except ImportError as exc:
        raise MissingDependency(
            f"this is Evidently's full snapshot dump (snapshot.dumps()); reading it needs "
            f"Evidently: {_INSTALL}, or attach snapshot.json() instead"
        ) from exc
    result: dict[str, Any] = json.loads(Snapshot.load_dict(data).json())
    return result


def _read(report: object) -> tuple[dict[str, Any], str, bool]:
    """(the report as a dict, where it came from, whether it is a live Snapshot)."""
    if type(report).__module__.startswith("evidently") and callable(getattr(report, "json", None)):
        return json.loads(report.json()), f"the {type(report).__name__}", True  # type: ignore[attr-defined]
    where = "the report"
    if isinstance(report, os.PathLike):
        where = f"file {os.fspath(report)!s}"
        try:
            report = Path(report).read_bytes()
        except OSError as exc:
            raise InvalidInput(f"cannot read {where}: {exc.strerror or exc}") from None
    if isinstance(report, (str, bytes, bytearray)):
        try:
            report = json.loads(report)
        except (ValueError, UnicodeDecodeError) as exc:
            raise _not_a_report(where, f"not JSON ({exc})") from None
    if not isinstance(report, Mapping):
        raise _not_a_report(where, f"a {type(report).__name__}")
    data = dict(report)
    if "metric_results" in data and "top_level_metrics" in data:
        data = _from_dump(data)
    return data, where, False


def _check(data: dict[str, Any], where: str) -> list[dict[str, Any]]:
    metrics = data.get("metrics")
    if not isinstance(metrics, list) or not metrics:
        keys = ", ".join(repr(k) for k in list(data)[:8]) or "none"
        raise _not_a_report(where, f"no 'metrics' list (keys: {keys})")
    for i, metric in enumerate(metrics):
        config = metric.get("config") if isinstance(metric, dict) else None
        kind = config.get("type") if isinstance(config, dict) else None
        if not isinstance(kind, str) or not kind.startswith("evidently:"):
            raise _not_a_report(where, f"metrics[{i}] has no Evidently 'config.type'")
        if "value" not in metric:
            raise _not_a_report(where, f"metrics[{i}] ({kind}) has no 'value'")
    tests = data.get("tests", [])
    if not isinstance(tests, list) or not all(isinstance(t, dict) for t in tests):
        raise _not_a_report(where, "'tests' is not a list of test results")
    return metrics


def _test_verdicts(tests: list[dict[str, Any]]) -> dict[str, bool]:
    """Column -> drifted, from Evidently's own per-column drift tests (when it ran them)."""
    out = {}
    for test in tests:
        params = (test.get("metric_config") or {}).get("params") or {}
        if params.get("type") == _VALUE_DRIFT and test.get("status") in ("FAIL", "SUCCESS"):
            out[str(params.get("column"))] = test["status"] == "FAIL"
    return out


def summarise(report: object) -> dict[str, Any]:
    """The summary :func:`attach` keeps in the evidence record.

    Parameters
    ----------
    report : Snapshot, dict, str, bytes or os.PathLike
        As for :func:`attach`.

    Returns
    -------
    dict
        ``metrics`` and ``tests`` (counts), ``tests_failed``; with a
        ``DriftedColumnsCount`` metric (``DataDriftPreset``): ``drift_share`` and
        ``drifted_count`` (its value), ``drift_share_threshold`` (its ``drift_share``)
        and ``dataset_drift`` (share at or above the threshold, Evidently's rule); with
        ``ValueDrift`` metrics: ``columns_tested``, ``drifted_columns`` (sorted, at most
        200, ``drifted_columns_truncated`` beyond), ``drift_methods``, and
        ``undecided_columns`` for methods this release does not know. A column's verdict
        is Evidently's own test result when the report has one, else Evidently's rule for
        its method (:data:`DRIFT_RULES`). ``non_finite``: NaN/infinite values stored as
        null.

    Raises
    ------
    InvalidInput
        Not an Evidently report (the message says what is missing and where).

    Examples
    --------
    >>> summarise({"metrics": [{"config": {"type": "evidently:metric_v2:DriftedColumnsCount",
    ...     "drift_share": 0.5}, "value": {"count": 1.0, "share": 0.25}}]})["dataset_drift"]
    False
    """
    data, where, _ = _read(report)
    return _summary(data, where)


def _summary(data: dict[str, Any], where: str) -> dict[str, Any]:
    metrics = _check(data, where)
    tests = data.get("tests", [])
    summary: dict[str, Any] = {
        "metrics": len(metrics),
        "tests": len(tests),
        "tests_failed": sum(t.get("status") == "FAIL" for t in tests),
    }
    verdicts = _test_verdicts(tests)
    drifted, undecided, methods, tested = [], [], set(), 0
    for metric in metrics:
        config = metric["config"]
        value = metric["value"]
        if config["type"] == _DRIFTED_COUNT and isinstance(value, dict):
            threshold = config.get("drift_share", 0.5)
            share = value.get("share")
            summary["drift_share"] = share
            summary["drifted_count"] = value.get("count")
            summary["drift_share_threshold"] = threshold
            if isinstance(share, (int, float)) and isinstance(threshold, (int, float)):
                summary["dataset_drift"] = share >= threshold
        elif config["type"] == _VALUE_DRIFT:
            tested += 1
            column, method = str(config.get("column")), config.get("method")
            methods.add(str(method))
            rule = DRIFT_RULES.get(str(method))
            threshold = config.get("threshold")
            if column in verdicts:
                drifted += [column] if verdicts[column] else []
            elif (
                rule is None
                or not isinstance(value, (int, float))
                or not math.isfinite(value)
                or not isinstance(threshold, (int, float))
            ):
                undecided.append(column)
            elif rule(float(value), float(threshold)):
                drifted.append(column)
    if tested:
        summary["columns_tested"] = tested
        summary["drifted_columns"] = sorted(drifted)[:MAX_COLUMNS]
        if len(drifted) > MAX_COLUMNS:
            summary["drifted_columns_truncated"] = True
        summary["drift_methods"] = sorted(methods)
        if undecided:
            summary["undecided_columns"] = sorted(undecided)[:MAX_COLUMNS]
    return summary


def attach(tracker: Tracker, ref: str | ModelVersion, report: object) -> EvidenceEvent:
    """Attach an Evidently report to a version as ``"evidently"`` evidence.

    The report's JSON is the payload (a content-addressed blob, written before the
    event); :func:`summarise` gives the summary. Read it back with
    ``tracker.load_evidence(event)``; list them with
    ``tracker.evidence(kind="evidently", on=...)``.

    Parameters
    ----------
    tracker : Tracker
    ref : str or ModelVersion
        The version the report is about (usually: the one trained on the current data).
    report : Snapshot, dict, str, bytes or os.PathLike
        Evidently 0.7's ``Snapshot`` (what ``Report.run`` returns), its ``.dict()``, its
        ``.json()`` text, or the path of a file saved with ``save_json`` (a ``str`` is
        JSON text, not a path). Evidently's full dump (``snapshot.dumps()``) is read too,
        with Evidently installed. JSON text is stored byte for byte unless it holds NaN
        or infinities, which are stored as null (counted in ``non_finite``).

    Returns
    -------
    EvidenceEvent
        Kind ``"evidently"``, tool ``"evidently"`` (with its version when a live
        ``Snapshot`` was given).

    Raises
    ------
    InvalidInput
        Not an Evidently report, or an unreadable file (the message names it); nothing is
        written.
    VersionNotFound, AmbiguousReference, ReadOnlyError, PayloadTooLarge

    Examples
    --------
    >>> import mlineage as ml
    >>> from mlineage.connectors import evidently
    >>> t = ml.Tracker("doc-evidently", storage="memory://doc-ev", capture_environment=False)
    >>> v = t.log(model_path="m.pt", dataset=ml.DataSnapshot(hash="sha256:0"))
    >>> report = {"metrics": [{"config": {"type": "evidently:metric_v2:DriftedColumnsCount",
    ...     "drift_share": 0.5}, "value": {"count": 2.0, "share": 0.5}}], "tests": []}
    >>> e = evidently.attach(t, v, report)
    >>> e.summary["drift_share"], e.summary["dataset_drift"]
    (0.5, True)
    """
    data, where, live = _read(report)
    summary = _summary(data, where)
    clean, non_finite = _finite(data)
    if non_finite:
        summary["non_finite"] = non_finite
    payload: bytes | dict[str, Any] = clean
    if isinstance(report, (str, bytes, bytearray)) and not non_finite:
        payload = report.encode() if isinstance(report, str) else bytes(report)
    version = _version() if live else None
    return tracker.attach_evidence(
        ref, KIND, payload, summary, tool="evidently", tool_version=version
    )


def _version() -> str | None:
    try:
        return metadata.version("evidently")
    except metadata.PackageNotFoundError:
        return None


def run(
    tracker: Tracker,
    ref: str | ModelVersion,
    reference_df: Any,
    current_df: Any,
    preset: str | object = "DataDriftPreset",
) -> EvidenceEvent:
    """Run Evidently on two DataFrames and attach the report to a version.

    ``Report([preset], include_tests=True).run(current_df, reference_df)``, then
    :func:`attach`: with its tests included, each column's verdict in the summary is
    Evidently's own.

    Parameters
    ----------
    tracker : Tracker
    ref : str or ModelVersion
        The version trained on (or serving) ``current_df``.
    reference_df, current_df : pandas.DataFrame
        The reference data (e.g. the parent version's) and the current data.
    preset : str or Evidently preset
        The name of a class in ``evidently.presets`` (``"DataDriftPreset"``,
        ``"DataSummaryPreset"``, ...) or a preset or metric object.

    Returns
    -------
    EvidenceEvent

    Raises
    ------
    MissingDependency
        Evidently is not installed (``pip install 'mlineage[evidently]'``).
    InvalidInput
        An unknown preset name.
    VersionNotFound, AmbiguousReference, ReadOnlyError
    """
    tracker.get_version(ref)  # an unknown version fails before Evidently runs
    try:
        import evidently.presets
        from evidently import Report
    except ImportError as exc:
        raise MissingDependency(
            f"running Evidently needs it installed: {_INSTALL} (Evidently 0.7 needs "
            f"pandas < 3) ({exc})"
        ) from exc
    if isinstance(preset, str):
        known = [n for n in getattr(evidently.presets, "__all__", []) if n.endswith("Preset")]
        if preset not in getattr(evidently.presets, "__all__", []):
            raise InvalidInput(
                f"unknown Evidently preset {preset!r}; known: {', '.join(sorted(known))}"
            )
        preset = getattr(evidently.presets, preset)()
    snapshot = Report([preset], include_tests=True).run(
        current_data=current_df, reference_data=reference_df
    )
    return attach(tracker, ref, snapshot)
