"""Environment capture, comparison and requirements files."""

from __future__ import annotations

import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
import types
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from mlineage.environment import (
    EnvironmentDiff,
    capture_environment,
    diff_environments,
    requirements_txt,
)
from mlineage.records import EnvironmentSnapshot

# --------------------------------------------------------------------------- capture


def test_fields_describe_this_interpreter() -> None:
    env = capture_environment(refresh=True)
    assert env.python_version == platform.python_version()
    assert env.implementation == platform.python_implementation()
    assert env.platform == platform.platform()
    assert env.machine == platform.machine()
    assert env.packages["numpy"] == metadata.version("numpy")
    assert env.packages["pydantic"] == metadata.version("pydantic")
    assert env.captured_at is not None
    assert abs((datetime.now(timezone.utc) - env.captured_at).total_seconds()) < 60


def test_package_names_are_normalised() -> None:
    packages = capture_environment().packages
    assert packages
    for name in packages:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name), name
    assert "pydantic-core" in packages  # installed as "pydantic_core"
    assert list(packages) == sorted(packages)


def test_second_call_is_cached_and_fast() -> None:
    capture_environment(refresh=True)
    timings = []
    for _ in range(20):
        start = time.perf_counter()
        capture_environment()
        timings.append(time.perf_counter() - start)
    # Measured ~0.05 ms here; the budget is 5 ms.
    assert statistics.median(timings) < 0.005, timings


def test_torch_is_reported_only_when_already_imported(monkeypatch: pytest.MonkeyPatch) -> None:
    if "torch" not in sys.modules:
        env = capture_environment()
        assert (env.torch_version, env.cuda_version) == (None, None)
        assert "torch" not in sys.modules  # capture never imports it
    # torch is not installed in the test environment; a module object with the attributes
    # real torch has stands in for it, to check the cheap per-call lookup.
    fake = types.ModuleType("torch")
    fake.__version__ = "2.13.0+cu121"  # type: ignore[attr-defined]
    fake.version = types.SimpleNamespace(cuda="12.1")  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "torch", fake)
    env = capture_environment()  # no refresh: the torch check is redone every call
    assert (env.torch_version, env.cuda_version) == ("2.13.0+cu121", "12.1")


def test_environment_variables_never_leak(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "mlineage-test-secret-8c1f2e9a"
    monkeypatch.setenv("MLINEAGE_TEST_TOKEN", secret)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret + "-aws")
    env = capture_environment(refresh=True)
    dumped = env.model_dump_json()
    assert secret not in dumped
    assert "MLINEAGE_TEST_TOKEN" not in dumped
    assert secret not in requirements_txt(env)


# --------------------------------------------------------------------------- git

_SCRIPT = """
import json, sys
from pathlib import Path
from mlineage.environment import capture_environment

def state(env):
    return [env.git_commit, env.git_branch, env.git_dirty]

first = capture_environment()
Path(sys.argv[1]).write_text("changed\\n")
cached = capture_environment()
fresh = capture_environment(refresh=True)
print(json.dumps({"first": state(first), "cached": state(cached), "fresh": state(fresh),
                  "json": first.model_dump_json()}))
"""


def git(repo: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=test@example.invalid", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "train.py").write_text(_SCRIPT)
    (root / "config.yaml").write_text("lr: 0.001\n")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "initial")
    # A remote whose URL carries a credential, as many CI clones do.
    git(root, "remote", "add", "origin", "https://user:ghp_SECRET123@example.invalid/x.git")
    return root


def run_script(
    script: Path, *args: str, cwd: Path, env: dict[str, str] | None = None
) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, str(script), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env=env,
    )
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_git_state_of_the_script_repository(repo: Path, tmp_path: Path) -> None:
    head = git(repo, "rev-parse", "HEAD")
    elsewhere = tmp_path / "elsewhere"  # run from outside the repo: the script's dir counts
    elsewhere.mkdir()
    out = run_script(repo / "train.py", str(repo / "config.yaml"), cwd=elsewhere)
    assert out["first"] == [head, "main", False]
    assert out["cached"] == [head, "main", False]  # cached per process until refresh
    assert out["fresh"] == [head, "main", True]  # a tracked file was modified
    assert "ghp_SECRET123" not in out["json"]
    assert "example.invalid" not in out["json"]


def test_untracked_files_do_not_make_the_tree_dirty(repo: Path) -> None:
    out = run_script(repo / "train.py", str(repo / "checkpoint.pt"), cwd=repo)
    assert out["fresh"][2] is False


def test_detached_head_and_unborn_branch(repo: Path, tmp_path: Path) -> None:
    head = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", "--detach")
    out = run_script(repo / "train.py", str(tmp_path / "scratch"), cwd=repo)
    assert out["first"] == [head, None, False]

    empty = tmp_path / "unborn"
    empty.mkdir()
    git(empty, "init", "-q", "-b", "trunk")
    (empty / "train.py").write_text(_SCRIPT)
    out = run_script(empty / "train.py", str(tmp_path / "scratch"), cwd=empty)
    assert out["first"] == [None, "trunk", False]


def test_falls_back_to_the_working_directory(repo: Path) -> None:
    # `python -c` has no script file: the repository of the working directory counts.
    code = (
        "from mlineage.environment import capture_environment as c\n"
        "e = c()\nprint(e.git_commit, e.git_branch)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == [git(repo, "rev-parse", "HEAD"), "main"]


def test_no_repository_or_no_git_gives_none(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "train.py").write_text(_SCRIPT)
    ceiling = {**os.environ, "GIT_CEILING_DIRECTORIES": str(tmp_path)}
    out = run_script(plain / "train.py", str(plain / "x"), cwd=plain, env=ceiling)
    assert out["fresh"] == [None, None, None]

    no_git = {**os.environ, "PATH": str(tmp_path / "empty-bin")}
    out = run_script(plain / "train.py", str(plain / "x"), cwd=plain, env=no_git)
    assert out["fresh"] == [None, None, None]


def test_secret_in_the_environment_of_a_subprocess_does_not_leak(repo: Path) -> None:
    secret = "mlineage-subprocess-secret-41d7"
    env = {**os.environ, "HF_TOKEN": secret, "DATABASE_URL": f"postgres://u:{secret}@h/db"}
    out = run_script(repo / "train.py", str(repo / "config.yaml"), cwd=repo, env=env)
    assert secret not in out["json"]


# --------------------------------------------------------------------------- diff


def snapshot(**fields: object) -> EnvironmentSnapshot:
    base: dict[str, object] = {
        "python_version": "3.11.7",
        "implementation": "CPython",
        "platform": "Linux-6.1-x86_64-with-glibc2.36",
        "machine": "x86_64",
        "packages": {"numpy": "1.26.4", "scipy": "1.11.0", "pydantic": "2.6.0"},
        "git_commit": "a" * 40,
        "git_branch": "main",
        "git_dirty": False,
    }
    base.update(fields)
    return EnvironmentSnapshot.model_validate(base)


def test_identical_environments_have_an_empty_diff() -> None:
    old = snapshot(captured_at=datetime(2024, 1, 1, tzinfo=timezone.utc))
    new = snapshot(captured_at=datetime(2024, 2, 1, tzinfo=timezone.utc), git_branch="other")
    diff = diff_environments(old, new)
    assert diff.is_empty
    assert diff == EnvironmentDiff()
    assert str(diff) == "environments are the same"


def test_diff_reports_every_kind_of_change() -> None:
    old = snapshot()
    new = snapshot(
        python_version="3.12.1",
        platform="Linux-6.8-x86_64-with-glibc2.39",
        packages={"numpy": "2.0.0", "pydantic": "2.6.0", "pandas": "2.2.0"},
        git_commit="b" * 40,
        git_dirty=True,
        torch_version="2.3.0",
        cuda_version="12.1",
    )
    diff = diff_environments(old, new)
    assert not diff.is_empty
    assert diff.python == ("CPython 3.11.7", "CPython 3.12.1")
    assert diff.platform == (old.platform, new.platform)
    assert diff.packages_added == {"pandas": "2.2.0"}
    assert diff.packages_removed == {"scipy": "1.11.0"}
    assert diff.packages_changed == {"numpy": ("1.26.4", "2.0.0")}
    assert diff.git_commit == ("a" * 40, "b" * 40)
    assert diff.git_dirty == (False, True)
    assert diff.torch == (None, "2.3.0")
    assert diff.cuda == (None, "12.1")
    assert str(diff).splitlines() == [
        "python: CPython 3.11.7 -> CPython 3.12.1",
        f"platform: {old.platform} -> {new.platform}",
        f"git commit: {'a' * 40} -> {'b' * 40}",
        "git dirty: False -> True",
        "torch: (none) -> 2.3.0",
        "cuda: (none) -> 12.1",
        "+ pandas==2.2.0",
        "- scipy==1.11.0",
        "~ numpy 1.26.4 -> 2.0.0",
    ]
    as_dict = diff.to_dict()
    assert json.loads(json.dumps(as_dict)) == as_dict
    assert as_dict["packages_changed"] == {"numpy": ["1.26.4", "2.0.0"]}
    assert as_dict["python"] == ["CPython 3.11.7", "CPython 3.12.1"]
    assert as_dict["git_commit"] == ["a" * 40, "b" * 40]


def test_diff_against_the_live_environment() -> None:
    live = capture_environment()
    recorded = live.model_copy(update={"packages": {**live.packages, "numpy": "0.0.1"}})
    diff = diff_environments(recorded, live)
    assert diff.packages_changed == {"numpy": ("0.0.1", live.packages["numpy"])}
    assert diff.python is None


# --------------------------------------------------------------------------- requirements


def test_requirements_txt_pins_every_package_sorted() -> None:
    env = snapshot(captured_at=datetime(2024, 1, 15, tzinfo=timezone.utc), git_dirty=True)
    text = requirements_txt(env)
    lines = text.splitlines()
    header = [line for line in lines if line.startswith("#")]
    pins = [line for line in lines if not line.startswith("#")]
    assert pins == ["numpy==1.26.4", "pydantic==2.6.0", "scipy==1.11.0"]
    assert lines[: len(header)] == header  # header first
    assert any("3.11.7" in line for line in header)
    assert any(env.platform in line for line in header)
    assert any("a" * 40 in line and "uncommitted" in line for line in header)
    assert text.endswith("\n")


def test_requirements_txt_of_the_live_environment_parses() -> None:
    requirements = pytest.importorskip("packaging.requirements")
    env = capture_environment()
    pins = [line for line in requirements_txt(env).splitlines() if not line.startswith("#")]
    assert len(pins) == len(env.packages)
    for line in pins:
        parsed = requirements.Requirement(line)
        assert str(parsed.specifier).startswith("==")


def test_requirements_header_cannot_inject_lines() -> None:
    env = snapshot(platform="Linux\nevil-package==6.6.6", git_commit="c" * 40 + "\nrm==1")
    pins = [line for line in requirements_txt(env).splitlines() if not line.startswith("#")]
    assert pins == ["numpy==1.26.4", "pydantic==2.6.0", "scipy==1.11.0"]
