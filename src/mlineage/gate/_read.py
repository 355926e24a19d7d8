"""Reading a gate policy's text: parse TOML/YAML/JSON, check every key, find its line.

tomllib keeps no positions and PyYAML's are on its node tree, so an error's line is
looked up afterwards from the text (:func:`line_finder`).
"""

from __future__ import annotations

import difflib
import json
import math
import re
import sys
from collections.abc import Callable, Mapping
from typing import Any, Literal

import mlineage.gate.rules as gate_rules  # `rules` is a method of Reader
from mlineage.errors import InvalidPolicy, MissingDependency

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 reads TOML with the tomli backport
    import tomli as tomllib  # type: ignore[import-not-found, no-redef, unused-ignore]

__all__ = ["SUFFIXES", "PolicyFormat", "Reader", "line_finder", "parse"]

#: The policy text's language.
PolicyFormat = Literal["toml", "yaml", "json"]
#: File suffix -> format.
SUFFIXES: dict[str, PolicyFormat] = {
    ".toml": "toml",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".json": "json",
}


def parse(text: str, format: PolicyFormat, source: str) -> Any:
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


def line_finder(text: str, format: PolicyFormat) -> Callable[[tuple[str, ...]], int | None]:
    if format == "toml":
        return lambda path: _toml_line(text, path)
    return lambda path: _yaml_line(text, path)


class Reader:
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
            hint = ""
            if isinstance(value, str) and re.fullmatch(r"[-+]?\d+(\.\d*)?[eE][-+]?\d+", value):
                hint = f" (YAML 1.1 reads {value} as text: write it with a decimal point)"
            raise self.fail(path, f"must be a number, got {_shown(value)}{hint}")
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
        top = self.table({} if data is None else data, (), gate_rules.SECTIONS)
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

    def metric(self, name: str, value: Any) -> gate_rules.MetricRule:
        path = ("metrics", name)
        table = self.table(value, path, gate_rules.METRIC_KEYS)
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
        return gate_rules.MetricRule(
            metric=name, direction=direction, optional=self.optional(table, path), **limits
        )

    def behaviour(self, value: Any) -> gate_rules.BehaviourRule:
        path = ("behaviour",)
        table = self.table(value, path, gate_rules.BEHAVIOUR_KEYS)
        nfr, btc = "max_negative_flip_rate", "min_backward_trust_compatibility"
        if nfr not in table and btc not in table:
            raise self.fail(path, f"needs {nfr} or {btc}")
        return gate_rules.BehaviourRule(
            probe=None if "probe" not in table else self.string(table["probe"], (*path, "probe")),
            max_negative_flip_rate=None
            if nfr not in table
            else self.number(table[nfr], (*path, nfr), 0.0, 1.0),
            min_backward_trust_compatibility=None
            if btc not in table
            else self.number(table[btc], (*path, btc), 0.0, 1.0),
            optional=self.optional(table, path),
        )

    def slices(self, value: Any) -> gate_rules.SliceRule:
        path = ("slices",)
        table = self.table(value, path, gate_rules.SLICE_KEYS)
        for key in ("by", "max_drop"):
            if key not in table:
                raise self.fail(path, f"needs {key}")
        return gate_rules.SliceRule(
            by=self.string(table["by"], (*path, "by")),
            max_drop=self.number(table["max_drop"], (*path, "max_drop"), 0.0, 1.0),
            optional=self.optional(table, path),
        )

    def drift(self, value: Any) -> gate_rules.DriftRule:
        path = ("drift",)
        table = self.table(value, path, gate_rules.DRIFT_KEYS)
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
        return gate_rules.DriftRule(
            max_share=None if share is None else self.number(share, (*path, "max_share"), 0, 1),
            must_not_drift=names,
            alpha=self.number(table.get("alpha", 0.05), (*path, "alpha"), 0.0, 1.0),
            optional=self.optional(table, path),
        )

    def evidence(self, value: Any) -> gate_rules.EvidenceRule:
        path = ("evidence",)
        table = self.table(value, path, gate_rules.EVIDENCE_KEYS)
        kinds = self.table(table.get("attached", {}), (*path, "attached"), None)
        return gate_rules.EvidenceRule(
            fingerprint=self.flag(table.get("fingerprint", False), (*path, "fingerprint")),
            attached=tuple(self.attached(kind, rule) for kind, rule in kinds.items()),
        )

    def attached(self, kind: str, value: Any) -> gate_rules.AttachedRule:
        path = ("evidence", "attached", kind)
        table = self.table(value, path, gate_rules.ATTACHED_KEYS)
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
        return gate_rules.AttachedRule(kind, bounds[0], bounds[1], self.optional(table, path))


def _shown(value: Any) -> str:
    text = repr(value)
    return f"{text[:60]}{'...' if len(text) > 60 else ''} ({type(value).__name__})"
