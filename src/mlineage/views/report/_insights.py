"""What the report says about each version: badges, a headline, drift and behaviour.

:func:`explain` turns the analyses that exist for a model (data drift along the main line
from stored profiles, behaviour shifts from stored fingerprints, evidence and gate
verdicts attached to versions, blame suspects) into per-version ``insights``: badges for
the lineage list, a one-sentence headline, per-feature drift with small
reference-vs-current distributions, and the behaviour change with its reliability diagram
and per-slice accuracy. It also precomputes drift and churn between the aliases'
versions for the Compare panel. Every verdict carries the rule it was judged by.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import suppress
from itertools import combinations
from typing import TYPE_CHECKING, Any

from mlineage import evidence as evidence_api
from mlineage.errors import MLineageError
from mlineage.views.report._plots import distribution, finite, round_or_none

if TYPE_CHECKING:
    from mlineage.analysis._behaviour_history import ShiftStep, SilentShifts
    from mlineage.analysis._drift_lineage import DriftAlong
    from mlineage.analysis.lineage import AnalysedTracker
    from mlineage.records import ModelVersion
    from mlineage.stats import BehaviorDiff, DataProfile, DriftReport, FeatureDrift

__all__ = ["COMPARE_TARGETS", "explain"]

#: At most this many alias targets (plus the main line's tip) get precomputed comparisons.
COMPARE_TARGETS = 6
#: How silent_shifts' threshold keys read in words.
_MEASURE = {"cka": "1 \u2212 CKA", "ece": "ECE change"}
#: Features listed by name in a headline.
_HEADLINE_FEATURES = 3


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def _g(x: float | None, digits: int = 3) -> str:
    return "n/a" if x is None else f"{x:.{digits}g}"


class _Profiles:
    """Stored data profiles, each read once."""

    def __init__(self, tracker: AnalysedTracker) -> None:
        self.tracker = tracker
        self.cache: dict[str, DataProfile | None] = {}

    def get(self, version: ModelVersion) -> DataProfile | None:
        if version.id not in self.cache:
            try:
                self.cache[version.id] = (
                    self.tracker.analysis.profile(version) if version.dataset.profile else None
                )
            except MLineageError:
                self.cache[version.id] = None
        return self.cache[version.id]


# -- drift ----------------------------------------------------------------------------------


def _feature(f: FeatureDrift, ref: DataProfile | None, cur: DataProfile | None) -> dict[str, Any]:
    plot = None
    if ref is not None and cur is not None:
        plot = distribution(_column(ref, f.name), _column(cur, f.name))
    return {
        "name": f.name,
        "kind": f.kind,
        "test": f.test,
        "statistic": finite(f.statistic),
        "p": finite(f.pvalue_corrected if f.pvalue_corrected is not None else f.pvalue),
        "drifted": bool(f.drifted),
        "psi": finite(f.psi),
        "w1": finite(f.wasserstein_normed),
        "note": f.note,
        "plot": plot,
    }


def _column(profile: DataProfile, name: str) -> Any:
    if profile.label == name and profile.label_profile is not None:
        return profile.label_profile
    try:
        return profile[name]
    except (KeyError, MLineageError):
        return None


def _stat_text(f: Mapping[str, Any]) -> str:
    test = {"ks": "KS", "chi2": "χ²"}.get(str(f["test"]), str(f["test"]))
    parts = [f"{test} {_g(f['statistic'], 2)}"] if f["statistic"] is not None else []
    if f["psi"] is not None:
        parts.append(f"PSI {_g(f['psi'], 3)}")
    return ", ".join(parts)


def drift_entry(
    report: DriftReport,
    reference: str,
    profiles: tuple[DataProfile | None, DataProfile | None],
    *,
    z: float | None = None,
    score: float | None = None,
    threshold: float | None = None,
    anomalous: bool | None = None,
) -> dict[str, Any]:
    """One step's (or pair's) drift, with the rules its verdicts follow, as JSON data."""
    ref, cur = profiles
    features = sorted(
        (_feature(f, ref, cur) for f in report.features),
        key=lambda f: (not f["drifted"], -(f["statistic"] or 0.0)),
    )
    label = None
    if report.label is not None:
        label = _feature(report.label, ref, cur)
    tested = sum(1 for f in report.features if f.pvalue is not None)
    drifted = len(report.drifted)
    entry: dict[str, Any] = {
        "reference": reference,
        "alpha": report.alpha,
        "correction": report.correction,
        "share_rule": report.drift_share,
        "tested": tested,
        "drifted": drifted,
        "drifted_share": finite(report.drifted_share),
        "dataset_drift": bool(report.dataset_drift),
        "features": features,
        "label": label,
        "score": finite(score),
        "z": finite(z),
        "threshold": threshold,
        "anomalous": anomalous,
    }
    entry["verdict"] = drift_verdict(entry)
    return entry


def drift_verdict(d: Mapping[str, Any]) -> list[str]:
    """The drift verdicts in words, each with the rule it applies (docs/analysis.md)."""
    correction = "Bonferroni" if d["correction"] == "bonferroni" else "Benjamini-Hochberg"
    lines = [
        f"{d['drifted']} of {d['tested']} features drifted (feature drift: test p < "
        f"{d['alpha']:g} after {correction})"
    ]
    share = d["drifted_share"] or 0.0
    rule = f"dataset drift needs ≥ {d['share_rule'] * 100:.0f} % of features drifted"
    if d["dataset_drift"]:
        lines.append(f"dataset drift: {share * 100:.0f} % drifted ({rule})")
    else:
        lines.append(f"no dataset drift: {share * 100:.0f} % drifted ({rule})")
    if d["anomalous"] is not None and d["z"] is not None:
        if d["anomalous"]:
            lines.append(
                f"anomalous step: drift score {_g(d['score'])} is {d['z']:.1f} robust z above "
                f"this line's ordinary steps (anomalous step: z ≥ {d['threshold']:g})"
            )
        else:
            lines.append(
                f"ordinary step: robust z {d['z']:.1f} (anomalous step: z ≥ {d['threshold']:g})"
            )
    label = d["label"]
    if label is not None:
        p = "n/a" if label["p"] is None else f"{label['p']:.2g}"
        rule = f"label shift: test p < {d['alpha']:g}"
        if label["drifted"]:
            lines.append(f"label '{label['name']}' shifted: p = {p} ({rule})")
        else:
            lines.append(f"label '{label['name']}' did not shift: p = {p} ({rule})")
    return lines


def _drift_steps(
    tracker: AnalysedTracker, spine: Sequence[ModelVersion], profiles: _Profiles
) -> dict[str, dict[str, Any]]:
    if not any(v.dataset.profile for v in spine):
        return {}
    try:
        along: DriftAlong = tracker.analysis.drift_along(on=spine[-1])
    except MLineageError:
        return {}
    out = {}
    for step in along.steps:
        if step.report is None:
            continue
        out[step.version.id] = drift_entry(
            step.report,
            step.parent.id,
            (profiles.get(step.parent), profiles.get(step.version)),
            z=step.z,
            score=step.score,
            threshold=along.threshold,
            anomalous=step.anomalous,
        )
    return out


# -- behaviour ------------------------------------------------------------------------------


def behaviour_entry(diff: BehaviorDiff, previous: str) -> dict[str, Any]:
    """One comparison of two fingerprints (churn, flip rates, CKA, calibration, slices)."""
    data = diff.to_dict()
    cal = data.get("calibration_new")
    return {
        "previous": previous,
        "n": data["n"],
        "churn": finite(data["churn"]),
        "nfr": finite(data["negative_flip_rate"]),
        "pfr": finite(data["positive_flip_rate"]),
        "cka": finite(data["linear_cka"]),
        "accuracy_old": finite(data["accuracy_old"]),
        "accuracy_new": finite(data["accuracy_new"]),
        "calibration": None
        if not cal
        else {k: cal[k] for k in ("ece", "n", "edges", "count", "confidence", "accuracy")},
        "groups": [
            {
                "group": str(g["group"]),
                "n": g["n"],
                "accuracy_old": round_or_none(g.get("accuracy_old")),
                "accuracy_new": round_or_none(g.get("accuracy_new")),
                "delta": round_or_none(g.get("accuracy_delta")),
                "nfr": round_or_none(g.get("negative_flip_rate")),
            }
            for g in data.get("groups") or []
        ],
    }


def _rule(shifts: SilentShifts) -> str:
    """The rule ``silent_shifts`` judged behaviour by, in words (its thresholds and the
    metrics' noise multiple, as far as the result states them)."""
    limits = getattr(shifts, "thresholds", None)
    parts: list[str] = list(getattr(shifts, "rules", {}).values())  # learnt or fixed, in words
    if not parts and isinstance(limits, Mapping):
        for measure, value in limits.items():
            limit = f" > {value:.3g}" if isinstance(value, (int, float)) else ""
            parts.append(f"{_MEASURE.get(measure, measure)}{limit}")
    rule = "behaviour moved: " + ("; ".join(parts) or "beyond its own noise")
    noise = getattr(shifts, "noise", None)
    if isinstance(noise, (int, float)):
        rule += f"; a metric moved when beyond {noise:g} \u00d7 its step noise"
    return rule


def _behaviour_steps(
    tracker: AnalysedTracker, spine: Sequence[ModelVersion]
) -> dict[str, dict[str, Any]]:
    analysis = tracker.analysis
    if not any(analysis.fingerprints(v) for v in spine[-50:]):
        return {}
    try:
        shifts = analysis.silent_shifts(on=spine[-1])
    except MLineageError:
        return {}
    silent = {s.version.id for s in shifts.shifts}
    rule = _rule(shifts)
    out = {}
    for step in shifts.steps:
        entry = _step_behaviour(tracker, step)
        entry["moved"] = list(step.moved)
        entry["outside"] = list(step.outside)
        entry["silent"] = step.version.id in silent
        entry["ece_before"] = finite(step.ece_before)
        entry["ece_after"] = finite(step.ece_after)
        entry["rule"] = rule
        out[step.version.id] = entry
    return out


def _step_behaviour(tracker: AnalysedTracker, step: ShiftStep) -> dict[str, Any]:
    try:
        return behaviour_entry(
            tracker.analysis.compare(step.previous, step.version), step.previous.id
        )
    except MLineageError:
        return {
            "previous": step.previous.id,
            "churn": finite(step.churn),
            "cka": finite(step.cka),
            "nfr": None,
            "groups": [],
            "calibration": None,
        }


# -- evidence, badges, headline ----------------------------------------------------------------


def _evidence(tracker: AnalysedTracker) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for event in evidence_api.evidence(tracker):
        item: dict[str, Any] = {
            "event": event.id,
            "kind": event.kind,
            "tool": event.tool,
            "recorded": event.created_at.isoformat(),
        }
        if event.kind == "gate":
            s = event.summary
            item["gate"] = {
                "passed": bool(s.get("passed")),
                "decision": str(s.get("decision", "")),
                "alias": s.get("alias"),
                "failed": [str(x) for x in _listed(s.get("failed"))],
            }
        elif "drift_share" in event.summary:
            item["drift_share"] = finite(event.summary.get("drift_share"))
        out.setdefault(event.version, []).append(item)
    return out


def _listed(value: object) -> list[object]:
    return list(value) if isinstance(value, (list, tuple)) else []


def badges(info: Mapping[str, Any]) -> list[dict[str, str]]:
    """The badges of one version's row, from its insights (suspects are drawn apart)."""
    out: list[dict[str, str]] = []
    drift = info.get("drift")
    if drift and drift.get("anomalous"):
        top = next((f for f in drift["features"] if f["drifted"]), None)
        text = "drift" + (f": {top['name']}" if top else "")
        title = drift["verdict"][2] + (
            f"; top feature {top['name']} ({_stat_text(top)})" if top else ""
        )
        out.append({"kind": "drift", "text": text, "title": title})
    if drift and drift.get("label") and drift["label"]["drifted"]:
        out.append({"kind": "label", "text": "label shift", "title": drift["verdict"][-1]})
    beh = info.get("behaviour")
    if beh and beh.get("silent"):
        out.append(
            {
                "kind": "silent",
                "text": "silent shift",
                "title": "behaviour moved while every metric stayed within its noise. "
                + beh["rule"],
            }
        )
    elif beh and "churn" in beh.get("moved", ()):
        out.append(
            {
                "kind": "flips",
                "text": f"flips {_pct(beh['churn'])}",
                "title": "probe answers changed above this model's noise. " + beh["rule"],
            }
        )
    for ev in info.get("evidence", ()):
        gate = ev.get("gate")
        if gate is not None:
            mark = "✓" if gate["passed"] else "✗"
            failed = ", ".join(gate["failed"])
            out.append(
                {
                    "kind": "gate-pass" if gate["passed"] else "gate-fail",
                    "text": f"gate {mark} {gate['alias'] or ''}".strip(),
                    "title": f"gate {gate['decision']}" + (f"; failed: {failed}" if failed else ""),
                }
            )
        else:
            out.append(
                {
                    "kind": "evidence",
                    "text": f"{ev['kind']}",
                    "title": f"evidence from {ev['tool']}",
                }
            )
    return out


def headline(info: Mapping[str, Any], suspects: Sequence[Mapping[str, Any]], root: bool) -> str:
    """One sentence in words: what moved in data, labels, behaviour and metrics."""
    parts: list[str] = []
    drift = info.get("drift")
    if drift:
        moved = [f for f in drift["features"] if f["drifted"]]
        if moved:
            names = [f"{moved[0]['name']} ({_stat_text(moved[0])})"]
            names += [f["name"] for f in moved[1:_HEADLINE_FEATURES]]
            more = len(moved) - _HEADLINE_FEATURES
            parts.append(
                "data moved: " + ", ".join(names) + (f" and {more} more" if more > 0 else "")
            )
        else:
            parts.append(f"data steady (0 of {drift['tested']} features drifted)")
        if drift.get("label") and drift["label"]["drifted"]:
            parts.append("labels shifted")
    beh = info.get("behaviour")
    if beh:
        text = f"behaviour: churn {_pct(beh['churn'])}"
        if beh.get("nfr") is not None:
            text += f", NFR {_pct(beh['nfr'])}"
        if beh.get("cka") is not None:
            text += f", CKA {beh['cka']:.2f}"
        parts.append(text)
        if beh.get("outside"):
            parts.append("metrics moved beyond noise: " + ", ".join(beh["outside"]))
        elif beh.get("silent"):
            parts.append("metrics flat → silent shift")
        else:
            parts.append("metrics within noise")
    for s in suspects:
        score = "" if s.get("score") is None else f", {s['score']:.1f} noise units"
        parts.append(f"{s['metric']} {s['delta']:+.3g} (blame suspect #{s['rank']}{score})")
    for ev in info.get("evidence", ()):
        gate = ev.get("gate")
        if gate is not None:
            where = f" to {gate['alias']}" if gate["alias"] else ""
            if gate["passed"]:
                parts.append(f"gate passed promotion{where}")
            else:
                parts.append(f"gate refused promotion{where} ({', '.join(gate['failed'])})")
    if not parts:
        return (
            "First version: nothing to compare it with."
            if root
            else "No analysis covers this step (no profiles, fingerprints or evidence)."
        )
    sentence = "; ".join(parts)
    return sentence[0].upper() + sentence[1:] + "."


# -- compare --------------------------------------------------------------------------------


def _pairs(
    tracker: AnalysedTracker, spine: Sequence[ModelVersion]
) -> list[tuple[ModelVersion, ModelVersion]]:
    # Every version an alias points or pointed at: the versions a reader compares.
    targets: dict[str, ModelVersion] = {}
    for alias, current in tracker.aliases().items():
        targets.setdefault(current.id, current)
        for move in tracker.alias_history(alias):
            if move.version is not None and move.version not in targets:
                targets[move.version] = tracker.get_version(move.version)
    chosen = sorted(targets.values(), key=lambda v: (v.created_at, v.id))[-COMPARE_TARGETS:]
    if spine and spine[-1].id not in targets:
        chosen.append(spine[-1])
    chosen.sort(key=lambda v: (v.created_at, v.id))
    return list(combinations(chosen, 2))


def _compare(
    tracker: AnalysedTracker, spine: Sequence[ModelVersion], profiles: _Profiles
) -> dict[str, dict[str, Any]]:
    out = {}
    for a, b in _pairs(tracker, spine):
        entry: dict[str, Any] = {"drift": None, "behaviour": None}
        pa, pb = profiles.get(a), profiles.get(b)
        if pa is not None and pb is not None:
            with suppress(MLineageError):  # a pair without a shared feature: not available
                entry["drift"] = drift_entry(tracker.analysis.drift(a, b), a.id, (pa, pb))
        with suppress(MLineageError):  # no fingerprints on a shared probe set
            entry["behaviour"] = behaviour_entry(tracker.analysis.compare(a, b), a.id)
        if entry["drift"] is not None or entry["behaviour"] is not None:
            out[f"{a.id}|{b.id}"] = entry
    return out


def explain(
    tracker: AnalysedTracker,
    spine: Sequence[ModelVersion],
    suspects_of: Mapping[str, Sequence[Mapping[str, Any]]],
    keep: Callable[[str], bool] | None = None,
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """``(insights, compare)`` for the report data.

    ``insights`` maps a version id to ``badges``, ``headline`` and, where they exist,
    ``drift`` (vs its first parent), ``behaviour`` (vs the previous fingerprinted
    version) and ``evidence``; only versions with something to say (or ``keep(id)``
    true) are included. ``compare`` maps ``"<older id>|<newer id>"`` to the drift and
    behaviour between the aliases' versions and the main line's tip.
    """
    profiles = _Profiles(tracker)
    parts: list[tuple[str, Mapping[str, Any]]] = [
        ("drift", _drift_steps(tracker, spine, profiles) if spine else {}),
        ("behaviour", _behaviour_steps(tracker, spine) if spine else {}),
        ("evidence", _evidence(tracker)),
    ]
    ids: list[str] = []
    seen: set[str] = set()
    for _, found in parts:
        _extend(ids, seen, found)
    _extend(ids, seen, suspects_of)
    insights: dict[str, dict[str, Any]] = {}
    for vid in ids:
        info: dict[str, Any] = {key: found[vid] for key, found in parts if vid in found}
        if keep is not None and not keep(vid) and not _notable(info, suspects_of.get(vid, ())):
            continue
        info["badges"] = badges(info)
        info["headline"] = headline(info, suspects_of.get(vid, ()), root=False)
        insights[vid] = info
    return insights, _compare(tracker, spine, profiles) if spine else {}


def _extend(ids: list[str], seen: set[str], found: Iterable[str]) -> None:
    for vid in found:
        if vid not in seen:
            seen.add(vid)
            ids.append(vid)


def _notable(info: Mapping[str, Any], suspects: Sequence[Any]) -> bool:
    return bool(suspects) or bool(badges(info))
