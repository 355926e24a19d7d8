"""Gate policies: the rules a candidate must pass to replace a version (``gate.toml``).

A :class:`GatePolicy` is read from a TOML file (stdlib ``tomllib``), a YAML file (PyYAML,
``pip install 'mlineage[gate]'``) or JSON, checked into the user's repository next to the
training code. Every key is checked: an unknown key, a value of the wrong type or out of
range, or a section without a threshold raises :class:`~mlineage.errors.InvalidPolicy`
naming the key and its line in the file. The key names are part of the API
(docs/gate.md#policy-reference).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mlineage.errors import InvalidPolicy, MissingDependency, PathNotFound

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 reads TOML with the tomli backport
    import tomli as tomllib  # type: ignore[import-not-found, no-redef, unused-ignore]

__all__ = [
    "AttachedRule",
    "BehaviourRule",
    "DriftRule",
    "EvidenceRule",
    "GatePolicy",
    "MetricRule",
    "PolicyFormat",
    "SliceRule",
]

#: The policy text's language.
PolicyFormat = Literal["toml", "yaml", "json"]
Direction = Literal["increase", "decrease"]

_SECTIONS = ("against", "metrics", "behaviour", "slices", "drift", "evidence")
_METRIC = ("direction", "max_drop", "max_drop_relative", "max_drop_noise", "optional")
_BEHAVIOUR = ("probe", "max_negative_flip_rate", "min_backward_trust_compatibility", "optional")
_SLICES = ("by", "max_drop", "optional")
_DRIFT = ("max_share", "must_not_drift", "alpha", "optional")
_EVIDENCE = ("fingerprint", "attached")
_ATTACHED = ("max", "min", "optional")
_SUFFIXES: dict[str, PolicyFormat] = {
    ".toml": "toml",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".json": "json",
}


@dataclass(frozen=True)
class MetricRule:
    """``[metrics.<name>]``: how far a logged metric may fall from the version it replaces.

    Attributes
    ----------
    metric : str
    direction : {"increase", "decrease"}
        The *good* direction: ``"increase"`` for accuracy, ``"decrease"`` for loss.
    max_drop, max_drop_relative, max_drop_noise : float or None
        Largest worsening allowed: absolute, as a fraction of the replaced version's
        value, or in units of the metric's step noise along the replaced version's history.
    optional : bool
        A version without the metric (or a history too short for its noise) skips the
        rule instead of failing it.
    """

    metric: str
    direction: Direction
    max_drop: float | None = None
    max_drop_relative: float | None = None
    max_drop_noise: float | None = None
    optional: bool = False


@dataclass(frozen=True)
class BehaviourRule:
    """``[behaviour]``: flips on a probe set both versions have fingerprints on.

    Attributes
    ----------
    probe : str or None
        Probe-set name or hash; None: the one both versions share (the candidate's last).
    max_negative_flip_rate : float or None
        Largest share of probe examples the replaced version got right and the candidate
        gets wrong (Yan et al. 2021).
    min_backward_trust_compatibility : float or None
        Smallest share of the replaced version's right answers the candidate keeps
        (Bansal et al. 2019).
    optional : bool
        Missing fingerprints skip the rules instead of failing them.
    """

    probe: str | None = None
    max_negative_flip_rate: float | None = None
    min_backward_trust_compatibility: float | None = None
    optional: bool = False


@dataclass(frozen=True)
class SliceRule:
    """``[slices]``: no group of a probe set may lose more than ``max_drop`` accuracy.

    Attributes
    ----------
    by : str
        The probe set's ``group_by`` (``"region"``).
    max_drop : float
        Largest accuracy drop allowed in any group (absolute).
    optional : bool
    """

    by: str
    max_drop: float
    optional: bool = False


@dataclass(frozen=True)
class DriftRule:
    """``[drift]``: data drift from the replaced version's data to the candidate's.

    Attributes
    ----------
    max_share : float or None
        Largest share of drifted features (``DriftReport.drifted_share``).
    must_not_drift : tuple of str
        Features that must not drift at all.
    alpha : float
        Significance level of the per-feature tests (Bonferroni-corrected).
    optional : bool
        Missing data profiles skip the rules instead of failing them.
    """

    max_share: float | None = None
    must_not_drift: tuple[str, ...] = ()
    alpha: float = 0.05
    optional: bool = False


@dataclass(frozen=True)
class AttachedRule:
    """``[evidence.attached.<kind>]``: an evidence event the candidate must carry.

    Attributes
    ----------
    kind : str
        Its kind (``"evidently"``); the candidate's latest event of that kind is checked.
    at_most, at_least : tuple of (str, float)
        Summary values that must be at most / at least these (keys ``max`` and ``min``).
    optional : bool
        No such event skips the rule instead of failing it.
    """

    kind: str
    at_most: tuple[tuple[str, float], ...] = ()
    at_least: tuple[tuple[str, float], ...] = ()
    optional: bool = False


@dataclass(frozen=True)
class EvidenceRule:
    """``[evidence]``: what the candidate must carry, whatever it is compared with.

    Attributes
    ----------
    fingerprint : bool
        The candidate has a fingerprint (on ``[behaviour] probe`` when that is set).
    attached : tuple of AttachedRule
    """

    fingerprint: bool = False
    attached: tuple[AttachedRule, ...] = ()


@dataclass(frozen=True)
class GatePolicy:
    """The rules of a promotion gate; build one with :meth:`load`, :meth:`loads` or
    :meth:`from_dict` (every key checked).

    Two policies are equal when their rules are; ``text``, ``format`` and ``source``
    say where the rules came from, and :attr:`hash` is the SHA-256 of ``text``, which a
    verdict records with the text itself.

    Attributes
    ----------
    against : str or None
        What candidates are compared with (an alias or version); None: ``"production"``
        unless the caller says otherwise.
    metrics : tuple of MetricRule
    behaviour : BehaviourRule or None
    slices : SliceRule or None
    drift : DriftRule or None
    evidence : EvidenceRule or None
    text : str
        The policy as written (for :meth:`from_dict`: canonical JSON).
    format : {"toml", "yaml", "json"}
    source : str
        The file it was read from, ``"<string>"`` or ``"<dict>"``.

    Examples
    --------
    >>> policy = GatePolicy.loads('''
    ... [metrics.accuracy]
    ... direction = "increase"
    ... max_drop = 0.01
    ... ''')
    >>> rule = policy.metrics[0]
    >>> rule.metric, rule.direction, rule.max_drop, rule.optional
    ('accuracy', 'increase', 0.01, False)
    >>> GatePolicy.from_dict(policy.to_dict()) == policy
    True
    """

    against: str | None = None
    metrics: tuple[MetricRule, ...] = ()
    behaviour: BehaviourRule | None = None
    slices: SliceRule | None = None
    drift: DriftRule | None = None
    evidence: EvidenceRule | None = None
    text: str = field(default="", compare=False, repr=False)
    format: PolicyFormat = field(default="json", compare=False, repr=False)
    source: str = field(default="<dict>", compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.text:  # built field by field: check it as a file would be checked
            checked = GatePolicy.from_dict(self.to_dict())
            object.__setattr__(self, "text", checked.text)

    @property
    def hash(self) -> str:
        """``"sha256:<hex>"`` of the policy's text (UTF-8)."""
        return "sha256:" + hashlib.sha256(self.text.encode()).hexdigest()

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> GatePolicy:
        """Read a policy file: ``.toml``, ``.yaml``/``.yml`` or ``.json``.

        Raises
        ------
        PathNotFound
            No such file.
        InvalidPolicy
            Another suffix, text that is not UTF-8 or does not parse, or a bad key (the
            message names the key and its line).
        MissingDependency
            A YAML file without PyYAML (``pip install 'mlineage[gate]'``).
        """
        file = Path(path)
        fmt = _SUFFIXES.get(file.suffix.lower())
        if fmt is None:
            raise InvalidPolicy(
                f"{file}: a policy file must end in .toml, .yaml, .yml or .json, got "
                f"{file.suffix or 'no suffix'!r}",
                source=str(file),
            )
        try:
            data = file.read_bytes()
        except FileNotFoundError:
            raise PathNotFound(f"no policy file {str(file)!r}") from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidPolicy(
                f"{file}: not UTF-8 text ({exc.reason} at byte {exc.start})", source=str(file)
            ) from None
        return cls.loads(text, fmt, source=str(file))

    @classmethod
    def loads(
        cls, text: str, format: PolicyFormat = "toml", *, source: str = "<string>"
    ) -> GatePolicy:
        """Read a policy from its text in ``format`` (``"toml"``, ``"yaml"``, ``"json"``).

        Raises
        ------
        InvalidPolicy, MissingDependency
            As :meth:`load`.
        """
        if format not in ("toml", "yaml", "json"):
            raise InvalidPolicy(f"format must be 'toml', 'yaml' or 'json', got {format!r}")
        if not isinstance(text, str):
            raise InvalidPolicy(f"the policy text must be a str, got {type(text).__name__}")
        data = _parse(text, format, source)
        rules = _Reader(source, _line_finder(text, format)).rules(data)
        return cls(**rules, text=text, format=format, source=source)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GatePolicy:
        """A policy from the mapping a policy file holds (keys as in the file).

        Its ``text`` is the canonical JSON of the checked rules (``to_dict()``).

        Raises
        ------
        InvalidPolicy
        """
        rules = _Reader("<dict>", lambda path: None).rules(data)
        policy = cls(**rules, text="{}", format="json", source="<dict>")
        text = json.dumps(policy.to_dict(), indent=2, ensure_ascii=False, allow_nan=False)
        object.__setattr__(policy, "text", text)
        return policy

    def to_dict(self) -> dict[str, Any]:
        """The rules as a policy file holds them (no defaults, no None), JSON-ready."""
        out: dict[str, Any] = {}
        if self.against is not None:
            out["against"] = self.against
        if self.metrics:
            out["metrics"] = {m.metric: _fields(m, _METRIC, skip=("metric",)) for m in self.metrics}
        if self.behaviour is not None:
            out["behaviour"] = _fields(self.behaviour, _BEHAVIOUR)
        if self.slices is not None:
            out["slices"] = _fields(self.slices, _SLICES)
        if self.drift is not None:
            drift = _fields(self.drift, _DRIFT)
            drift["must_not_drift"] = list(self.drift.must_not_drift)
            if not drift["must_not_drift"]:
                del drift["must_not_drift"]
            if self.drift.alpha == 0.05:
                del drift["alpha"]
            out["drift"] = drift
        if self.evidence is not None:
            evidence: dict[str, Any] = {}
            if self.evidence.fingerprint:
                evidence["fingerprint"] = True
            attached = {}
            for rule in self.evidence.attached:
                entry: dict[str, Any] = {}
                if rule.at_most:
                    entry["max"] = dict(rule.at_most)
                if rule.at_least:
                    entry["min"] = dict(rule.at_least)
                if rule.optional:
                    entry["optional"] = True
                attached[rule.kind] = entry
            if attached:
                evidence["attached"] = attached
            out["evidence"] = evidence
        return out


def _fields(rule: object, keys: tuple[str, ...], skip: tuple[str, ...] = ()) -> dict[str, Any]:
    out = {}
    for key in keys:
        value = getattr(rule, key)
        if key in skip or value is None or (key == "optional" and not value):
            continue
        out[key] = value
    return out


# -- reading --------------------------------------------------------------------------------


def _parse(text: str, format: PolicyFormat, source: str) -> Any:
    if format == "toml":
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise InvalidPolicy(f"{source}: not valid TOML: {exc}", source=source) from None
    if format == "json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidPolicy(
                f"{source}, line {exc.lineno}: not valid JSON: {exc.msg}",
                line=exc.lineno,
                source=source,
            ) from None
    yaml = _yaml()
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = None if mark is None else mark.line + 1
        where = source if line is None else f"{source}, line {line}"
        problem = getattr(exc, "problem", None) or exc
        raise InvalidPolicy(
            f"{where}: not valid YAML: {problem}", line=line, source=source
        ) from None


def _yaml() -> Any:
    try:
        import yaml  # type: ignore[import-untyped]  # optional: the `gate` extra
    except ImportError as exc:
        raise MissingDependency(
            "reading a YAML gate policy needs PyYAML: pip install 'mlineage[gate]' "
            "(or write the policy in TOML)"
        ) from exc
    return yaml


_PART = re.compile(r"""[A-Za-z0-9_-]+|"[^"]*"|'[^']*'""")
_HEADER = re.compile(r"^\s*\[\[?([^\]]+)\]\]?\s*(#.*)?$")
_KEY = re.compile(
    r"""^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*="""
)


def _toml_parts(dotted: str) -> tuple[str, ...]:
    return tuple(p[1:-1] if p[0] in "\"'" else p for p in _PART.findall(dotted))


def _toml_line(text: str, path: tuple[str, ...]) -> int | None:
    """The line of ``path`` in TOML text: where the key is set, or else the table header
    (or dotted key) that comes closest to it; None when nothing does.

    tomllib keeps no positions, so this reads the lines the way TOML assigns them to
    tables: a header starts a table, a ``key =`` line sets a key of the current one.
    """
    best, depth = None, 0
    table: tuple[str, ...] = ()
    for number, line in enumerate(text.splitlines(), 1):
        header = _HEADER.match(line)
        if header:
            table = _toml_parts(header.group(1))
            parts = table
        else:
            key = _KEY.match(line)
            if key is None:
                continue
            parts = (*table, *_toml_parts(key.group(1)))
        if parts == path:
            return number
        if len(parts) > depth and path[: len(parts)] == parts:
            best, depth = number, len(parts)
    return best


def _yaml_line(text: str, path: tuple[str, ...]) -> int | None:
    """The line of ``path`` in YAML (or JSON) text, from PyYAML's node positions."""
    try:
        yaml = _yaml()
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except Exception:  # no PyYAML, or text PyYAML reads otherwise: no line, same error
        return None
    line = None
    for part in path:
        if not isinstance(node, yaml.MappingNode):
            break
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == part:
                line, node = key.start_mark.line + 1, value
                break
        else:
            break
    return line


def _line_finder(text: str, format: PolicyFormat) -> Callable[[tuple[str, ...]], int | None]:
    if format == "toml":
        return lambda path: _toml_line(text, path)
    return lambda path: _yaml_line(text, path)


class _Reader:
    """Checks a parsed policy key by key; every error names the key and its line."""

    def __init__(self, source: str, line_of: Callable[[tuple[str, ...]], int | None]) -> None:
        self.source = source
        self.line_of = line_of

    def fail(self, path: tuple[str, ...], problem: str) -> InvalidPolicy:
        line = self.line_of(path) if path else None
        where = self.source if line is None else f"{self.source}, line {line}"
        key = ".".join(path) or None
        text = f"{where}: {key}: {problem}" if key else f"{where}: {problem}"
        return InvalidPolicy(text, key=key, line=line, source=self.source)

    def table(
        self, value: Any, path: tuple[str, ...], known: tuple[str, ...] | None
    ) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            what = "the policy" if not path else "a table"
            raise self.fail(path, f"must be {what} of keys, got {_shown(value)}")
        for key in value:
            if not isinstance(key, str):
                raise self.fail(path, f"keys must be strings, got {key!r}")
            if known is not None and key not in known:
                close = difflib.get_close_matches(key, known, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                raise self.fail((*path, key), f"unknown key ({hint}known here: {', '.join(known)})")
        return dict(value)

    def number(
        self, value: Any, path: tuple[str, ...], low: float = 0.0, high: float = math.inf
    ) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(path, f"must be a number, got {_shown(value)}")
        if not math.isfinite(value) or not low <= value <= high:
            if low == -math.inf:
                bounds = ""
            elif high == math.inf:
                bounds = f" >= {low:g}"
            else:
                bounds = f" between {low:g} and {high:g}"
            raise self.fail(path, f"must be a finite number{bounds}, got {value!r}")
        return float(value)

    def string(self, value: Any, path: tuple[str, ...]) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(path, f"must be a non-empty string, got {_shown(value)}")
        return value

    def flag(self, value: Any, path: tuple[str, ...]) -> bool:
        if not isinstance(value, bool):
            raise self.fail(path, f"must be true or false, got {_shown(value)}")
        return value

    def rules(self, data: Any) -> dict[str, Any]:
        """The checked fields of a :class:`GatePolicy` (all but where it came from)."""
        top = self.table({} if data is None else data, (), _SECTIONS)
        against = top.get("against")
        metrics = tuple(
            self.metric(name, rule)
            for name, rule in self.table(top.get("metrics", {}), ("metrics",), None).items()
        )
        return {
            "against": None if against is None else self.string(against, ("against",)),
            "metrics": metrics,
            "behaviour": self.section(top, "behaviour", self.behaviour),
            "slices": self.section(top, "slices", self.slices),
            "drift": self.section(top, "drift", self.drift),
            "evidence": self.section(top, "evidence", self.evidence),
        }

    def section(self, top: dict[str, Any], name: str, read: Callable[[dict[str, Any]], Any]) -> Any:
        return None if name not in top else read(top[name])

    def optional(self, table: dict[str, Any], path: tuple[str, ...]) -> bool:
        return self.flag(table.get("optional", False), (*path, "optional"))

    def metric(self, name: str, value: Any) -> MetricRule:
        path = ("metrics", name)
        table = self.table(value, path, _METRIC)
        if "direction" not in table:
            raise self.fail(path, 'needs direction = "increase" (higher is better) or "decrease"')
        direction = table["direction"]
        if direction not in ("increase", "decrease"):
            raise self.fail(
                (*path, "direction"),
                f'must be "increase" (higher is better) or "decrease", got {_shown(direction)}',
            )
        limits = {
            key: self.number(table[key], (*path, key))
            for key in ("max_drop", "max_drop_relative", "max_drop_noise")
            if key in table
        }
        if not limits:
            raise self.fail(path, "needs max_drop, max_drop_relative or max_drop_noise")
        return MetricRule(
            metric=name, direction=direction, optional=self.optional(table, path), **limits
        )

    def behaviour(self, value: Any) -> BehaviourRule:
        path = ("behaviour",)
        table = self.table(value, path, _BEHAVIOUR)
        nfr, btc = "max_negative_flip_rate", "min_backward_trust_compatibility"
        if nfr not in table and btc not in table:
            raise self.fail(path, f"needs {nfr} or {btc}")
        return BehaviourRule(
            probe=None if "probe" not in table else self.string(table["probe"], (*path, "probe")),
            max_negative_flip_rate=None
            if nfr not in table
            else self.number(table[nfr], (*path, nfr), 0.0, 1.0),
            min_backward_trust_compatibility=None
            if btc not in table
            else self.number(table[btc], (*path, btc), 0.0, 1.0),
            optional=self.optional(table, path),
        )

    def slices(self, value: Any) -> SliceRule:
        path = ("slices",)
        table = self.table(value, path, _SLICES)
        for key in ("by", "max_drop"):
            if key not in table:
                raise self.fail(path, f"needs {key}")
        return SliceRule(
            by=self.string(table["by"], (*path, "by")),
            max_drop=self.number(table["max_drop"], (*path, "max_drop"), 0.0, 1.0),
            optional=self.optional(table, path),
        )

    def drift(self, value: Any) -> DriftRule:
        path = ("drift",)
        table = self.table(value, path, _DRIFT)
        if "max_share" not in table and "must_not_drift" not in table:
            raise self.fail(path, "needs max_share or must_not_drift")
        features = table.get("must_not_drift", [])
        if not isinstance(features, list):
            raise self.fail(
                (*path, "must_not_drift"),
                f"must be a list of feature names, got {_shown(features)}",
            )
        names = tuple(self.string(f, (*path, "must_not_drift")) for f in features)
        share = table.get("max_share")
        return DriftRule(
            max_share=None if share is None else self.number(share, (*path, "max_share"), 0, 1),
            must_not_drift=names,
            alpha=self.number(table.get("alpha", 0.05), (*path, "alpha"), 0.0, 1.0),
            optional=self.optional(table, path),
        )

    def evidence(self, value: Any) -> EvidenceRule:
        path = ("evidence",)
        table = self.table(value, path, _EVIDENCE)
        kinds = self.table(table.get("attached", {}), (*path, "attached"), None)
        return EvidenceRule(
            fingerprint=self.flag(table.get("fingerprint", False), (*path, "fingerprint")),
            attached=tuple(self.attached(kind, rule) for kind, rule in kinds.items()),
        )

    def attached(self, kind: str, value: Any) -> AttachedRule:
        path = ("evidence", "attached", kind)
        table = self.table(value, path, _ATTACHED)
        bounds = []
        for key in ("max", "min"):
            limits = self.table(table.get(key, {}), (*path, key), None)
            bounds.append(
                tuple(
                    (name, self.number(limit, (*path, key, name), -math.inf))
                    for name, limit in limits.items()
                )
            )
        if not bounds[0] and not bounds[1]:
            raise self.fail(path, "needs max = { key = limit } or min = { key = limit }")
        return AttachedRule(kind, bounds[0], bounds[1], self.optional(table, path))


def _shown(value: Any) -> str:
    text = repr(value)
    return f"{text[:60]}{'...' if len(text) > 60 else ''} ({type(value).__name__})"
