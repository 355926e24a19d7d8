"""Gate policies: the rules a candidate must pass to replace a version (``gate.toml``).

A :class:`GatePolicy` is read from a TOML file (stdlib ``tomllib``), a YAML file (PyYAML,
``pip install 'mlineage[gate]'``) or JSON, checked into the user's repository next to the
training code. Every key is checked: an unknown key, a value of the wrong type or out of
range, or a section without a threshold raises :class:`~mlineage.errors.InvalidPolicy`
naming the key and its line in the file. The key names are part of the API
(docs/gate.md#policy-reference).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlineage.errors import InvalidPolicy, PathNotFound
from mlineage.gate._read import SUFFIXES, PolicyFormat, Reader, line_finder, parse
from mlineage.gate.rules import (
    BEHAVIOUR_KEYS,
    DRIFT_KEYS,
    METRIC_KEYS,
    SLICE_KEYS,
    BehaviourRule,
    DriftRule,
    EvidenceRule,
    MetricRule,
    SliceRule,
)

__all__ = ["GatePolicy", "PolicyFormat"]


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
            _refuse_repeats(self)
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
        fmt = SUFFIXES.get(file.suffix.lower())
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
        data = parse(text, format, source)
        rules = Reader(source, line_finder(text, format)).rules(data)
        return cls(**rules, text=text, format=format, source=source)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GatePolicy:
        """A policy from the mapping a policy file holds (keys as in the file).

        Its ``text`` is the canonical JSON of the checked rules (``to_dict()``).

        Raises
        ------
        InvalidPolicy
        """
        rules = Reader("<dict>", lambda path: None).rules(data)
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
            out["metrics"] = {
                m.metric: _fields(m, METRIC_KEYS, skip=("metric",)) for m in self.metrics
            }
        if self.behaviour is not None:
            out["behaviour"] = _fields(self.behaviour, BEHAVIOUR_KEYS)
        if self.slices is not None:
            out["slices"] = _fields(self.slices, SLICE_KEYS)
        if self.drift is not None:
            drift = _fields(self.drift, DRIFT_KEYS)
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


def _refuse_repeats(policy: GatePolicy) -> None:
    """A rule stated twice in a policy built by hand: its file would keep one of them."""
    named: list[tuple[str, list[str]]] = [("metrics", [m.metric for m in policy.metrics])]
    if policy.evidence is not None:
        attached = policy.evidence.attached
        named.append(("evidence.attached", [a.kind for a in attached]))
        for rule in attached:
            named.append((f"evidence.attached.{rule.kind}.max", [k for k, _ in rule.at_most]))
            named.append((f"evidence.attached.{rule.kind}.min", [k for k, _ in rule.at_least]))
    for where, keys in named:
        repeated = sorted({k for k in keys if keys.count(k) > 1})
        if repeated:
            raise InvalidPolicy(
                f"{where}: {', '.join(map(repr, repeated))} stated more than once; a policy "
                "states each rule once (a file cannot hold the same key twice): keep one"
            )


def _fields(rule: object, keys: tuple[str, ...], skip: tuple[str, ...] = ()) -> dict[str, Any]:
    out = {}
    for key in keys:
        value = getattr(rule, key)
        if key in skip or value is None or (key == "optional" and not value):
            continue
        out[key] = value
    return out
