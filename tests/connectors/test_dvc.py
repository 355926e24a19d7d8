"""DVC connector on a real repository the test builds with git and dvc (slow: dvc repro)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from dvc.api import DVCFileSystem

import mlineage as ml
from mlineage.cli import main
from mlineage.connectors import dvc as connector
from mlineage.errors import InvalidSource, MissingDependency, SourceNotFound

pytestmark = pytest.mark.slow

ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
    "DVC_NO_ANALYTICS": "1",
}
TRAIN = """import json, yaml
p = yaml.safe_load(open("params.yaml"))["train"]
rows = len(open("data/prepared.csv").read().splitlines())
open("model.bin", "w").write(f"{p} {rows}")
json.dump({"acc": 0.8 + p["lr"], "loss": {"train": 1.0 / rows}}, open("metrics.json", "w"))
"""


def _run(repo: Path, *args: str) -> str:
    return subprocess.run(
        args, cwd=repo, env=ENV, check=True, capture_output=True, text=True
    ).stdout.strip()


def _commit(repo: Path, message: str) -> str:
    _run(repo, sys.executable, "-m", "dvc", "repro", "-q")
    _run(repo, "git", "add", "-A")
    _run(repo, "git", "commit", "-qm", message)
    return _run(repo, "git", "rev-parse", "HEAD")


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """git + dvc, `dvc add`-ed data, a two-stage dvc.yaml, three commits: the first run,
    a learning-rate change, new data."""
    repo = tmp_path_factory.mktemp("dvc-repo")
    _run(repo, "git", "init", "-q")
    _run(repo, sys.executable, "-m", "dvc", "init", "-q")
    (repo / "data").mkdir()
    (repo / "data" / "raw.csv").write_text("a,b\n1,2\n3,4\n")
    _run(repo, sys.executable, "-m", "dvc", "add", "-q", "data/raw.csv")
    (repo / "params.yaml").write_text("prepare:\n  header: true\ntrain:\n  lr: 0.01\n  epochs: 3\n")
    (repo / "prepare.py").write_text(
        "import shutil\nshutil.copy('data/raw.csv', 'data/prepared.csv')\n"
    )
    (repo / "train.py").write_text(TRAIN)
    stages = {
        "prepare": {
            "cmd": f"{sys.executable} prepare.py",
            "deps": ["data/raw.csv", "prepare.py"],
            "params": ["prepare.header"],
            "outs": ["data/prepared.csv"],
        },
        "train": {
            "cmd": f"{sys.executable} train.py",
            "deps": ["data/prepared.csv", "train.py"],
            "params": ["train.lr", "train.epochs"],
            "outs": ["model.bin"],
            "metrics": [{"metrics.json": {"cache": False}}],
        },
    }
    (repo / "dvc.yaml").write_text(yaml.safe_dump({"stages": stages}))
    commits = [_commit(repo, "first model")]
    (repo / "params.yaml").write_text("prepare:\n  header: true\ntrain:\n  lr: 0.05\n  epochs: 3\n")
    commits.append(_commit(repo, "raise the learning rate"))
    (repo / "data" / "raw.csv").write_text("a,b\n1,2\n3,4\n5,6\n7,8\n")
    _run(repo, sys.executable, "-m", "dvc", "add", "-q", "data/raw.csv")
    commits.append(_commit(repo, "new data"))
    return repo, commits


def _tracker(tmp_path: Path) -> ml.Tracker:
    return ml.Tracker("fraud", storage=str(tmp_path / "store"), capture_environment=False)


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_each_commit_becomes_a_version_that_dvc_agrees_with(
    repo: tuple[Path, list[str]], tmp_path: Path
) -> None:
    path, commits = repo
    tracker = _tracker(tmp_path)
    summary = connector.import_repo(tracker, path, revs="HEAD")
    assert summary.added == tuple(commits)
    first, second, third = (tracker.find_origin("dvc", c)[0] for c in commits)
    assert (first.parents, second.parents, third.parents) == ((), (first.id,), (second.id,))
    assert first.hyperparameters == {"prepare.header": True, "train.lr": 0.01, "train.epochs": 3}
    assert second.hyperparameters["train.lr"] == 0.05
    assert first.metrics == {"acc": pytest.approx(0.81), "loss.train": pytest.approx(1 / 3)}
    assert third.metrics["loss.train"] == pytest.approx(1 / 5)
    assert [v.notes for v in (first, second, third)] == [
        "first model",
        "raise the learning rate",
        "new data",
    ]
    assert first.dataset.hash == second.dataset.hash != third.dataset.hash  # new data in 3
    assert first.dataset.path == "data/raw.csv" and first.dataset.hash.startswith("md5:")
    assert first.dataset.metadata["hash_algorithm"] == "md5"
    when = int(_run(path, "git", "show", "-s", "--format=%ct", commits[0]))
    assert first.created_at.timestamp() == when
    # Every hash and size read from the YAML is what dvc itself reports at that commit.
    for version, commit in zip((first, second, third), commits, strict=True):
        fs = DVCFileSystem(str(path), rev=commit)
        entries = version.metadata["dvc"]["entries"]
        assert {e["path"] for e in entries} >= {"data/raw.csv", "model.bin", "metrics.json"}
        checked = set()
        for entry in entries:
            info = fs.info(entry["path"])
            if "md5" in info:  # in the DVC cache (a script, cache: false metrics: in git)
                assert (entry["hash"], entry["size"]) == (f"md5:{info['md5']}", info["size"])
                checked.add(entry["path"])
        assert checked == {"data/raw.csv", "data/prepared.csv", "model.bin"}


def test_revisions_import_only_what_is_new(repo: tuple[Path, list[str]], tmp_path: Path) -> None:
    path, commits = repo
    tracker = _tracker(tmp_path)
    assert connector.import_repo(tracker, path).added == (commits[2],)  # HEAD only
    before = _files(tmp_path / "store")
    dry = connector.import_repo(tracker, path, ["HEAD~2", "HEAD"], dry_run=True)
    assert (dry.added, dry.skipped) == (tuple(commits[:2]), (commits[2],))
    assert _files(tmp_path / "store") == before
    again = connector.import_repo(tracker, path, "HEAD")
    assert again.added == tuple(commits[:2]) and again.skipped == (commits[2],)
    with pytest.raises(SourceNotFound, match="no-such-branch"):
        connector.import_repo(tracker, path, "no-such-branch")
    with pytest.raises(SourceNotFound, match="not found"):
        connector.import_repo(tracker, tmp_path / "nowhere")


@pytest.mark.parametrize(
    ("file", "text", "message"),
    [
        ("dvc.lock", "schema: '3.0'\nstages: {}\n", r"dvc\.lock has schema '3\.0'"),
        ("data/raw.csv.dvc", "outs: [path: raw.csv\n", r"data/raw\.csv\.dvc is not valid YAML"),
    ],
)
def test_an_unreadable_dvc_file_is_a_typed_error_and_writes_nothing(
    repo: tuple[Path, list[str]], tmp_path: Path, file: str, text: str, message: str
) -> None:
    copy = tmp_path / "repo"
    shutil.copytree(repo[0], copy)
    tracker = _tracker(tmp_path)
    connector.import_repo(tracker, copy, "HEAD~1")
    before = _files(tmp_path / "store")
    (copy / file).write_text(text)
    _run(copy, "git", "commit", "-qam", "damage")
    with pytest.raises(InvalidSource, match=message) as caught:
        connector.import_repo(tracker, copy, "HEAD")
    assert _run(copy, "git", "rev-parse", "HEAD") in str(caught.value)
    assert _files(tmp_path / "store") == before


def test_the_cli_imports_a_repository(
    repo: tuple[Path, list[str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = str(tmp_path / "store")
    args = ["--store", store, "import", "dvc", "fraud", str(repo[0]), "--rev", "HEAD"]
    assert main([*args, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["added"] == repo[1]
    assert main(args) == 0
    assert "0 added, 3 skipped" in capsys.readouterr().out


def test_a_missing_pyyaml_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, repo: tuple[Path, list[str]], tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "yaml", None)
    with pytest.raises(MissingDependency, match=r"pip install 'mlineage\[dvc\]'"):
        connector.import_repo(_tracker(tmp_path), repo[0])
