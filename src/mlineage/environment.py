"""Capture the software environment a version was produced in, and compare two of them.

:func:`capture_environment` records the interpreter, platform, installed distributions,
the git state of the training script's repository, and torch/CUDA versions when the
script imported torch. It never records environment variables, tokens, credentials or
git remote URLs: a lineage store is shared more widely than a shell.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from typing import Any, NamedTuple

from mlineage.records import EnvironmentSnapshot

__all__ = [
    "EnvironmentDiff",
    "capture_environment",
    "environment_blob",
    "diff_environments",
    "requirements_txt",
]

GIT_TIMEOUT = 3.0
"""Seconds one ``git status`` may take before the git fields are left empty."""


def _normalise(name: str) -> str:
    # PEP 503: "Foo_Bar", "foo.bar" and "foo-bar" are the same distribution.
    return re.sub(r"[-_.]+", "-", name).lower()


def _distributions() -> dict[str, str]:
    packages: dict[str, str] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if not name:  # a broken install with no metadata; nothing to pin
            continue
        # setdefault: when a name is installed twice, the first on sys.path is the one
        # that imports, as in importlib.metadata.version().
        packages.setdefault(_normalise(name), dist.version)
    return dict(sorted(packages.items()))


class _GitState(NamedTuple):
    commit: str | None
    branch: str | None
    dirty: bool | None


_NO_GIT = _GitState(None, None, None)


def _git_state(directory: str) -> _GitState | None:
    """Commit, branch and dirty flag of the work tree containing ``directory``.

    None when there is no git, no repository there, or git is too slow; never raises.
    """
    try:
        result = subprocess.run(
            # One porcelain v2 call gives commit, branch and changes. --no-optional-locks:
            # status must not take index.lock in a repository others are working in.
            # Untracked files do not make a tree dirty (as in `git describe --dirty`):
            # training scripts routinely leave untracked checkpoints and logs behind.
            [
                "git",
                "--no-optional-locks",
                "status",
                "--porcelain=v2",
                "--branch",
                "--untracked-files=no",
            ],
            cwd=directory,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=GIT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if result.returncode != 0:
        return None
    commit = branch = None
    dirty = False
    for line in result.stdout.decode("utf-8", "replace").splitlines():
        if line.startswith("# branch.oid "):
            oid = line.removeprefix("# branch.oid ")
            commit = None if oid == "(initial)" else oid
        elif line.startswith("# branch.head "):
            head = line.removeprefix("# branch.head ")
            branch = None if head == "(detached)" else head
        elif line and not line.startswith("#"):
            dirty = True
    return _GitState(commit, branch, dirty)


def _candidate_directories() -> list[str]:
    # The repository that matters is the training script's; when there is no script file
    # (python -c, a REPL, a notebook kernel) or it lies outside any repository (a console
    # entry point in site-packages), the working directory is the next best guess.
    candidates = []
    script = sys.argv[0] if sys.argv else ""
    if script and os.path.isfile(script):
        candidates.append(os.path.dirname(os.path.abspath(script)))
    try:
        cwd = os.getcwd()
    except OSError:  # the working directory was deleted
        cwd = ""
    if cwd and cwd not in candidates:
        candidates.append(cwd)
    return candidates


def _find_git_state() -> _GitState:
    for directory in _candidate_directories():
        state = _git_state(directory)
        if state is not None:
            return state
    return _NO_GIT


@dataclass(frozen=True)
class _Static:
    """The parts of a snapshot that do not change while a process runs."""

    python_version: str
    implementation: str
    platform: str
    machine: str
    packages: dict[str, str]
    git: _GitState


_static: _Static | None = None
_static_lock = threading.Lock()


def _compute_static() -> _Static:
    try:
        packages = _distributions()
    except Exception:  # corrupt metadata must not stop a training run from being logged
        packages = {}
    return _Static(
        python_version=platform.python_version(),
        implementation=platform.python_implementation(),
        platform=platform.platform(),
        machine=platform.machine(),
        packages=packages,
        git=_find_git_state(),
    )


def capture_environment(*, refresh: bool = False) -> EnvironmentSnapshot:
    """Capture the current software environment.

    The first call in a process lists installed distributions and asks git about the
    training script's repository (about 0.2 s with ~120 distributions); later calls reuse
    those and cost about 0.05 ms (measured: well under the 5 ms budget that
    ``tests/test_environment.py`` enforces). The torch check is redone every call, since
    a script may import torch after its first version was logged.

    What is recorded:

    - interpreter version and implementation, ``platform.platform()``, machine;
    - installed distributions, normalised name (PEP 503) -> version;
    - git commit, branch and dirty flag (tracked files changed; untracked files do not
      count) of the repository holding ``sys.argv[0]``, else the working directory;
      all None when there is no git or no repository, or git takes over
      :data:`GIT_TIMEOUT` seconds;
    - torch and CUDA versions, only if ``torch`` is already imported (it is never
      imported here, and CUDA is not initialised).

    Never recorded: environment variables, tokens, credentials, git remote URLs.

    Parameters
    ----------
    refresh : bool
        Recompute the cached parts (after installing packages or committing).

    Returns
    -------
    EnvironmentSnapshot
        ``captured_at`` is the time of this call.

    Examples
    --------
    >>> env = capture_environment()
    >>> env.python_version == platform.python_version()
    True
    >>> "numpy" in env.packages
    True
    """
    global _static
    with _static_lock:
        if _static is None or refresh:
            _static = _compute_static()
        static = _static
    torch = sys.modules.get("torch")
    torch_version = getattr(torch, "__version__", None)
    cuda_version = getattr(getattr(torch, "version", None), "cuda", None)
    return EnvironmentSnapshot(
        python_version=static.python_version,
        implementation=static.implementation,
        platform=static.platform,
        machine=static.machine,
        packages=dict(static.packages),
        git_commit=static.git.commit,
        git_branch=static.git.branch,
        git_dirty=static.git.dirty,
        torch_version=None if torch_version is None else str(torch_version),
        cuda_version=None if cuda_version is None else str(cuda_version),
        captured_at=datetime.now(timezone.utc),
    )


_blob_cache: dict[tuple[int, str | None, str | None], tuple[str, bytes]] = {}


def environment_blob() -> tuple[str, bytes]:
    """The current environment as ``(blob key, canonical JSON bytes)``, cached per process.

    The bytes are :func:`capture_environment` without ``captured_at``, so every version
    logged from the same environment points at the same blob. Costs a dict lookup after
    the first call (the torch check is redone, as in :func:`capture_environment`).
    """
    from mlineage.content import blob_key_of

    torch = sys.modules.get("torch")
    torch_version = getattr(torch, "__version__", None)
    cuda_version = getattr(getattr(torch, "version", None), "cuda", None)
    marker = (
        id(_static),
        None if torch_version is None else str(torch_version),
        None if cuda_version is None else str(cuda_version),
    )
    cached = _blob_cache.get(marker)
    if cached is None:
        env = capture_environment().model_copy(update={"captured_at": None})
        data = env.model_dump_json().encode()
        cached = (blob_key_of(data), data)
        _blob_cache.clear()
        _blob_cache[(id(_static), marker[1], marker[2])] = cached
    return cached


Change = tuple[Any, Any]


@dataclass
class EnvironmentDiff:
    """What differs between two :class:`~mlineage.records.EnvironmentSnapshot` records.

    Each scalar field is ``(old, new)`` when the values differ and None when they are
    equal. ``captured_at`` and the git branch name are not compared: they differ between
    any two runs without changing what ran.

    Attributes
    ----------
    python : tuple of str or None
        ``"<implementation> <version>"`` before and after.
    platform : tuple of str or None
    packages_added, packages_removed : dict of str to str
        Name -> version of distributions only in the new / only in the old environment.
    packages_changed : dict of str to tuple of str
        Name -> (old version, new version).
    git_commit : tuple or None
    git_dirty : tuple or None
    torch, cuda : tuple or None
    """

    python: tuple[str, str] | None = None
    platform: tuple[str, str] | None = None
    packages_added: dict[str, str] = field(default_factory=dict)
    packages_removed: dict[str, str] = field(default_factory=dict)
    packages_changed: dict[str, tuple[str, str]] = field(default_factory=dict)
    git_commit: tuple[str | None, str | None] | None = None
    git_dirty: tuple[bool | None, bool | None] | None = None
    torch: tuple[str | None, str | None] | None = None
    cuda: tuple[str | None, str | None] | None = None

    @property
    def is_empty(self) -> bool:
        """True when the two environments are the same in every compared field."""
        return not (
            self.python
            or self.platform
            or self.packages_added
            or self.packages_removed
            or self.packages_changed
            or self.git_commit
            or self.git_dirty
            or self.torch
            or self.cuda
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the diff as JSON-ready data: pairs become ``[old, new]`` lists.

        Examples
        --------
        >>> EnvironmentDiff(packages_changed={"numpy": ("1.26.4", "2.0.0")}).to_dict()[
        ...     "packages_changed"
        ... ]
        {'numpy': ['1.26.4', '2.0.0']}
        """

        def pair(value: Change | None) -> list[Any] | None:
            return None if value is None else list(value)

        return {
            "python": pair(self.python),
            "platform": pair(self.platform),
            "packages_added": dict(self.packages_added),
            "packages_removed": dict(self.packages_removed),
            "packages_changed": {k: list(v) for k, v in self.packages_changed.items()},
            "git_commit": pair(self.git_commit),
            "git_dirty": pair(self.git_dirty),
            "torch": pair(self.torch),
            "cuda": pair(self.cuda),
        }

    def __str__(self) -> str:
        if self.is_empty:
            return "environments are the same"

        def show(value: object) -> str:
            return "(none)" if value is None else str(value)

        lines = []
        for label, change in (
            ("python", self.python),
            ("platform", self.platform),
            ("git commit", self.git_commit),
            ("git dirty", self.git_dirty),
            ("torch", self.torch),
            ("cuda", self.cuda),
        ):
            if change is not None:
                lines.append(f"{label}: {show(change[0])} -> {show(change[1])}")
        lines.extend(f"+ {name}=={version}" for name, version in self.packages_added.items())
        lines.extend(f"- {name}=={version}" for name, version in self.packages_removed.items())
        lines.extend(
            f"~ {name} {old} -> {new}" for name, (old, new) in self.packages_changed.items()
        )
        return "\n".join(lines)


def _python_label(env: EnvironmentSnapshot) -> str:
    return f"{env.implementation} {env.python_version}".strip()


def _change(old: Any, new: Any) -> Change | None:
    return None if old == new else (old, new)


def diff_environments(old: EnvironmentSnapshot, new: EnvironmentSnapshot) -> EnvironmentDiff:
    """Compare two environment snapshots.

    Parameters
    ----------
    old, new : EnvironmentSnapshot
        Typically the one recorded with a version and :func:`capture_environment`.

    Returns
    -------
    EnvironmentDiff
        Package dicts are sorted by name.

    Examples
    --------
    >>> from mlineage.records import EnvironmentSnapshot as Env
    >>> d = diff_environments(
    ...     Env(python_version="3.10.4", packages={"numpy": "1.26.4", "scipy": "1.11.0"}),
    ...     Env(python_version="3.11.7", packages={"numpy": "2.0.0", "pandas": "2.2.0"}),
    ... )
    >>> print(d)
    python: 3.10.4 -> 3.11.7
    + pandas==2.2.0
    - scipy==1.11.0
    ~ numpy 1.26.4 -> 2.0.0
    """
    before, after = old.packages, new.packages
    return EnvironmentDiff(
        python=_change(_python_label(old), _python_label(new)),
        platform=_change(old.platform, new.platform),
        packages_added={k: after[k] for k in sorted(after.keys() - before.keys())},
        packages_removed={k: before[k] for k in sorted(before.keys() - after.keys())},
        packages_changed={
            k: (before[k], after[k])
            for k in sorted(before.keys() & after.keys())
            if before[k] != after[k]
        },
        git_commit=_change(old.git_commit, new.git_commit),
        git_dirty=_change(old.git_dirty, new.git_dirty),
        torch=_change(old.torch_version, new.torch_version),
        cuda=_change(old.cuda_version, new.cuda_version),
    )


def _one_line(text: str) -> str:
    # Header values come from stored records; a newline in one must not start a line
    # that pip would read as a requirement.
    return " ".join(text.split())


def requirements_txt(env: EnvironmentSnapshot) -> str:
    """Render ``env.packages`` as a pinned requirements file.

    One ``name==version`` line per distribution, sorted by name, after a comment header
    naming the Python version, platform and git commit, so that
    ``pip install -r requirements.txt`` recreates the package set of a recorded version.

    Parameters
    ----------
    env : EnvironmentSnapshot

    Returns
    -------
    str
        Ends with a newline.

    Examples
    --------
    >>> from mlineage.records import EnvironmentSnapshot as Env
    >>> print(requirements_txt(Env(python_version="3.11.7", packages={"numpy": "2.0.0"})))
    # Environment recorded by mlineage
    # python: 3.11.7
    numpy==2.0.0
    <BLANKLINE>
    """
    header = ["# Environment recorded by mlineage"]
    if env.captured_at is not None:
        header[0] += f" at {env.captured_at.isoformat()}"
    header.append(f"# python: {_one_line(_python_label(env)) or 'unknown'}")
    if env.platform:
        header.append(f"# platform: {_one_line(env.platform)}")
    if env.git_commit:
        dirty = " (with uncommitted changes)" if env.git_dirty else ""
        header.append(f"# git commit: {_one_line(env.git_commit)}{dirty}")
    if env.torch_version:
        cuda = f", CUDA {_one_line(env.cuda_version)}" if env.cuda_version else ""
        header.append(f"# torch: {_one_line(env.torch_version)}{cuda}")
    pins = [f"{name}=={version}" for name, version in sorted(env.packages.items())]
    return "\n".join(header + pins) + "\n"
