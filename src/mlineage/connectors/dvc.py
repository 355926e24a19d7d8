"""DVC: a repository's data versions, params and metrics, one version per git commit.

Needs ``pip install 'mlineage[dvc]'`` (PyYAML; ``dvc`` itself for checking). ``dvc.api``
has no reader for ``.dvc`` and ``dvc.lock`` documents, so they are parsed with PyYAML
following DVC's documented schema (``dvc.lock`` ``schema: '2.0'``; a ``.dvc`` file's
``outs``), read at each commit with git itself. What maps to what is in
docs/connectors.md#dvc.
"""

from __future__ import annotations

import hashlib
import math
import os
import posixpath
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import mlineage as ml
from mlineage.connectors._common import ImportSummary, Planned, Progress, require, write_plan
from mlineage.errors import InvalidSource, SourceNotFound

if TYPE_CHECKING:
    from mlineage import Tracker

__all__ = ["import_repo", "read_dvc_file", "read_lock"]

SYSTEM = "dvc"
#: The ``dvc.lock`` schema versions this reader knows (DVC 2.x and 3.x write ``2.0``).
LOCK_SCHEMAS = ("2.0",)
#: Entry keys that hold a hash, in DVC's order of preference, and the algorithm they name.
_HASH_KEYS = (("md5", "md5"), ("etag", "etag"), ("checksum", "checksum"))


@dataclass(frozen=True)
class Entry:
    """One out or dep of a ``.dvc`` file or a ``dvc.lock`` stage."""

    path: str  # relative to the repository root, "/"-separated
    snapshot: ml.DataSnapshot
    file: str
    stage: str | None
    role: str  # "out" or "dep"


def _git(repo: str, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", repo, *args], capture_output=True, text=True, encoding="utf-8"
    )
    if done.returncode != 0:
        raise SourceNotFound(
            f"git {' '.join(args)} failed in {repo!r}: {done.stderr.strip()[:300]}; give a git "
            "repository and revisions it has; nothing was imported"
        )
    return done.stdout


def _yaml(text: str, where: str) -> Any:
    yaml = require("yaml", "dvc")
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidSource(
            f"{where} is not valid YAML: {' '.join(str(exc).split())[:300]}; nothing was imported"
        ) from None


def _snapshot(entry: Any, path: str, where: str, extra: dict[str, Any]) -> ml.DataSnapshot:
    if not isinstance(entry, dict):
        raise InvalidSource(f"{where}: an entry of {path!r} is not a mapping; nothing was imported")
    found = next(((k, a) for k, a in _HASH_KEYS if isinstance(entry.get(k), str)), None)
    if found is None:
        raise InvalidSource(f"{where}: {path!r} has no md5/etag/checksum; nothing was imported")
    key, algorithm = found
    if key == "md5" and entry.get("hash") != "md5":
        # DVC 3 writes `hash: md5`; an entry without it was hashed by DVC 2 (dos2unix md5).
        algorithm = "md5-dos2unix"
    size, files = entry.get("size"), entry.get("nfiles")
    return ml.DataSnapshot(
        path=path,
        hash=f"{algorithm}:{entry[key]}",
        size=size if isinstance(size, int) else None,
        num_files=files if isinstance(files, int) else None,
        metadata={"hash_algorithm": algorithm, "dvc": {"file": where, **extra}},
    )


def _entries(items: Any, base: str, where: str, **extra: Any) -> list[Entry]:
    if items is None:
        return []
    if not isinstance(items, list):
        raise InvalidSource(f"{where}: expected a list of entries; nothing was imported")
    out = []
    for item in items:
        raw = item.get("path") if isinstance(item, dict) else None
        if not isinstance(raw, str):
            raise InvalidSource(f"{where}: an entry has no path; nothing was imported")
        path = posixpath.normpath(posixpath.join(base, raw))
        snapshot = _snapshot(item, path, where, extra)
        out.append(Entry(path, snapshot, where, extra.get("stage"), extra.get("role", "out")))
    return out


def read_dvc_file(text: str, where: str) -> list[Entry]:
    """The outs of a ``.dvc`` file (``dvc add``), paths relative to the repository root.

    Parameters
    ----------
    text : str
        The file's YAML.
    where : str
        Its path in the repository (``data/raw.csv.dvc``), for paths and messages.

    Raises
    ------
    InvalidSource
        Not YAML, or not a ``.dvc`` document (names ``where``).
    """
    doc = _yaml(text, where)
    if not isinstance(doc, dict):
        raise InvalidSource(f"{where} is not a .dvc document (a mapping); nothing was imported")
    return _entries(doc.get("outs"), posixpath.dirname(where), where, role="out")


def read_lock(text: str, where: str) -> tuple[list[Entry], dict[str, Any]]:
    """The deps and outs of every stage of a ``dvc.lock``, and the params it recorded.

    Parameters
    ----------
    text : str
        The file's YAML.
    where : str
        Its path in the repository (``dvc.lock``), for paths and messages.

    Returns
    -------
    entries : list of Entry
    params : dict
        Parameter name -> value (``train.lr``; prefixed ``file:`` when not from
        ``params.yaml``).

    Raises
    ------
    InvalidSource
        Not YAML, or a ``schema:`` other than ``'2.0'`` (names ``where`` and the version).
    """
    doc = _yaml(text, where)
    schema = doc.get("schema") if isinstance(doc, dict) else None
    if schema not in LOCK_SCHEMAS:
        raise InvalidSource(
            f"{where} has schema {schema!r} (None: no `schema:` key, as DVC 1 wrote); this "
            f"reader knows {list(LOCK_SCHEMAS)} (DVC 2 and 3); regenerate it with a current "
            "`dvc repro`, or upgrade mlineage; nothing was imported"
        )
    stages = doc.get("stages") or {}
    if not isinstance(stages, dict):
        raise InvalidSource(f"{where}: `stages` is not a mapping; nothing was imported")
    base = posixpath.dirname(where)
    entries: list[Entry] = []
    params: dict[str, Any] = {}
    for name, stage in stages.items():
        if not isinstance(stage, dict):
            raise InvalidSource(f"{where}: stage {name!r} is not a mapping; nothing was imported")
        entries += _entries(stage.get("deps"), base, where, stage=name, role="dep")
        entries += _entries(stage.get("outs"), base, where, stage=name, role="out")
        for file, values in (stage.get("params") or {}).items():
            prefix = "" if file == "params.yaml" and not base else f"{posixpath.join(base, file)}:"
            for key, value in (values or {}).items():
                params[f"{prefix}{key}"] = value
    return entries, params


def _flatten(value: Any, prefix: str, out: dict[str, float]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(item, f"{prefix}{key}.", out)
    elif isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        out[prefix[:-1]] = float(value)


def _metric_files(text: str, where: str) -> list[str]:
    """The metrics files a ``dvc.yaml`` declares (top level and per stage)."""
    doc = _yaml(text, where)
    if not isinstance(doc, dict):
        return []
    listed = list(doc.get("metrics") or [])
    for stage in (doc.get("stages") or {}).values():
        if isinstance(stage, dict):
            listed += stage.get("metrics") or []
    base = posixpath.dirname(where)
    names = [m if isinstance(m, str) else next(iter(m), None) for m in listed]
    return [posixpath.join(base, n) for n in names if isinstance(n, str)]


def _data(entries: list[Entry], repo: str) -> ml.DataSnapshot:
    """The data a commit's versions were trained on: what ``dvc add`` tracks, else the
    stage deps no stage produces. One such entry is the snapshot; several make a set whose
    hash covers their paths and hashes (``dvc-set:<sha256>``)."""
    data = [e for e in entries if e.stage is None]
    if not data:
        produced = {e.path for e in entries if e.role == "out"}
        data = [e for e in entries if e.role == "dep" and e.path not in produced]
    unique = {e.path: e.snapshot for e in data}
    if len(unique) == 1:
        return next(iter(unique.values()))
    listing = "".join(f"{p}\t{s.hash}\n" for p, s in sorted(unique.items()))
    sizes = [s.size for s in unique.values()]
    return ml.DataSnapshot(
        path=repo,
        hash=f"dvc-set:{hashlib.sha256(listing.encode()).hexdigest()}",
        size=sum(s for s in sizes if s is not None) if None not in sizes else None,
        num_files=len(unique),
        metadata={
            "hash_algorithm": "sha256 of the sorted path<TAB>hash lines",
            "paths": sorted(unique),
        },
    )


def _plan_commit(
    repo: str, commit: str, parents: Iterable[str], when: int, subject: str
) -> Planned:
    files = _git(repo, "ls-tree", "-r", "--name-only", commit).splitlines()

    def show(path: str) -> str:
        return _git(repo, "show", f"{commit}:{path}")

    entries: list[Entry] = []
    params: dict[str, Any] = {}
    metrics: dict[str, float] = {}
    metric_files: list[str] = []
    try:
        for path in files:
            name = posixpath.basename(path)
            if name.endswith(".dvc") and not path.startswith(".dvc/"):
                entries += read_dvc_file(show(path), path)
            elif name == "dvc.lock":
                found, recorded = read_lock(show(path), path)
                entries += found
                params.update(recorded)
            elif name == "dvc.yaml":
                metric_files += [m for m in _metric_files(show(path), path) if m in files]
        for path in metric_files:
            _flatten(_yaml(show(path), path), "", metrics)
    except InvalidSource as exc:
        raise InvalidSource(f"{exc} (at commit {commit})") from None
    outs = [e for e in entries if e.role == "out" and e.stage is not None]
    model = next((e.path for e in reversed(outs) if e.path not in metric_files), None)
    return Planned(
        id=commit,
        origin=ml.Origin(system=SYSTEM, id=commit, uri=f"file://{repo}", extra={"repo": repo}),
        fields={
            "model_path": f"{repo}/{model or ''}@{commit[:12]}",
            "dataset": _data(entries, repo),
            "metrics": metrics,
            "hyperparameters": params,
            "notes": subject,
            "metadata": {
                "dvc": {
                    "commit": commit,
                    "entries": [
                        {
                            "path": e.path,
                            "file": e.file,
                            "stage": e.stage,
                            "role": e.role,
                            "hash": e.snapshot.hash,
                            "size": e.snapshot.size,
                        }
                        for e in entries
                    ],
                }
            },
        },
        parents=tuple(parents),
        timestamp=datetime.fromtimestamp(when, timezone.utc),
    )


def _commits(repo: str, revs: str | Iterable[str] | None) -> list[tuple[str, list[str], int, str]]:
    """(commit, parents, commit time, subject), oldest first: ``HEAD`` alone when ``revs``
    is None, else what ``git rev-list`` lists for ``revs``."""
    if isinstance(revs, str):
        revs = [revs]
    spec = ["--no-walk", "HEAD"] if revs is None else ["--topo-order", *revs]
    if revs is not None and not revs:
        raise SourceNotFound("revs is empty: give revisions (['main']) or None for HEAD")
    listed = _git(repo, "log", "--reverse", "--format=%H %P%x00%ct%x00%s", *spec, "--")
    out = []
    for line in listed.splitlines():
        ids, when, subject = line.split("\x00", 2)
        commit, *parents = ids.split()
        out.append((commit, parents, int(when), subject))
    return out


def import_repo(
    tracker: Tracker,
    repo_path: str | os.PathLike[str],
    revs: str | Iterable[str] | None = None,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportSummary:
    """Import a DVC repository: one version per git commit.

    Each commit's ``.dvc`` files and ``dvc.lock`` stages become data snapshots
    (``md5:<hex>`` with size and file count kept and the algorithm named; DVC 2's
    ``md5-dos2unix``; a directory's hash ends in ``.dir`` as DVC writes it), all listed in
    ``metadata["dvc"]["entries"]``; the version's ``dataset`` is the data ``dvc add``
    tracks (several: a ``dvc-set:`` snapshot over them). Params recorded in ``dvc.lock``
    become hyperparameters, the metrics files ``dvc.yaml`` declares (read at that commit)
    metrics, the commit subject notes, the commit time the creation time, and the commit's
    git parents (imported now or before) the version's parents. Commits imported before
    are skipped. Every commit is read before anything is written.

    Parameters
    ----------
    tracker : Tracker
    repo_path : str or path-like
        The repository (a git work tree with DVC files).
    revs : str or iterable of str, optional
        What to walk, in ``git rev-list`` syntax (``"main"``, ``["v1..v2"]``); None:
        ``HEAD`` only.
    dry_run : bool
        Read and report; write nothing.
    progress : callable, optional
        Called as ``progress(done, total)`` after each commit.

    Returns
    -------
    ImportSummary
        Commit ids added and skipped.

    Raises
    ------
    MissingDependency
        PyYAML is not installed.
    SourceNotFound
        Not a git repository, or revisions it does not have.
    InvalidSource
        A ``dvc.lock`` of an unknown ``schema:`` version, a ``.dvc`` / ``dvc.lock`` /
        metrics file that is not YAML (names the file and commit). Nothing written.
    """
    repo = os.path.abspath(os.fspath(repo_path))
    if not os.path.isdir(repo):
        raise SourceNotFound(f"DVC repository {repo!r} not found; nothing was imported")
    require("yaml", "dvc")
    commits = _commits(repo, revs)
    listed = {c[0] for c in commits}
    plan = [
        _plan_commit(
            repo,
            commit,
            [p for p in parents if p in listed or tracker.find_origin(SYSTEM, p)],
            when,
            subject,
        )
        for commit, parents, when, subject in commits
    ]
    return write_plan(
        tracker, SYSTEM, f"repository {repo}", plan, dry_run=dry_run, progress=progress
    )
