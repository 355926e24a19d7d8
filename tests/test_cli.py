"""The mlineage command, run as a user runs it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import mlineage as ml


@pytest.fixture
def store(tmp_path: Path) -> str:
    tracker = ml.Tracker("fraud-detector", storage=str(tmp_path / "s"))
    for i, acc in enumerate([0.90, 0.93, 0.88]):
        tracker.log(
            model_path=f"{i}.pt",
            dataset=ml.DataSnapshot(path=f"d{i}", hash=f"sha256:{i}"),
            metrics={"accuracy": acc},
            hyperparameters={"lr": 0.1 * (i + 1)},
            name=f"v{i}",
            notes=f"update {i}",
        )
    tracker.set_alias("production", "v1")
    return str(tmp_path / "s")


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlineage.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")},
    )


def test_models_history_show(store: str) -> None:
    assert cli("--store", store, "models").stdout.split() == ["fraud-detector"]
    out = cli("--store", store, "history", "fraud-detector").stdout
    assert "3 versions" in out
    assert "[production]" in out
    shown = json.loads(cli("--store", store, "show", "fraud-detector", "v1", "--json").stdout)
    assert shown["name"] == "v1"
    assert shown["aliases"] == ["production"]
    history = json.loads(cli("--store", store, "history", "fraud-detector", "--json").stdout)
    assert [v["name"] for v in history] == ["v2", "v1", "v0"]


def test_blame_and_exit_codes(store: str) -> None:
    result = cli("--store", store, "blame", "fraud-detector", "accuracy")
    assert result.returncode == 0
    assert "update 2" in result.stdout
    report = json.loads(
        cli("--store", store, "blame", "fraud-detector", "accuracy", "--json").stdout
    )
    assert report["steps"][0]["name"] == "v2"
    nothing = cli(
        "--store",
        store,
        "blame",
        "fraud-detector",
        "accuracy",
        "--direction",
        "increase",
        "--on",
        "v0",
    )
    assert nothing.returncode == 1


def test_diff_and_aliases(store: str) -> None:
    out = cli("--store", store, "diff", "fraud-detector", "v0", "v2").stdout
    assert "hyperparameter lr" in out
    aliases = json.loads(cli("--store", store, "aliases", "fraud-detector", "--json").stdout)
    assert list(aliases) == ["production"]


def test_errors_are_messages_not_tracebacks(store: str) -> None:
    result = cli("--store", store, "show", "fraud-detector", "nope")
    assert result.returncode == 2
    assert result.stderr.startswith("mlineage: error: no version")
    assert "Traceback" not in result.stderr
    result = cli("--store", store, "history", "frod")
    assert result.returncode == 2
    assert "fraud-detector" in result.stderr
    result = cli("--store", "ftp://x/y", "models")
    assert result.returncode == 2
    assert "known schemes" in result.stderr


def test_checkout_at_a_time_and_into_a_directory(tmp_path: Path) -> None:
    checkpoint = tmp_path / "model.bin"
    checkpoint.write_bytes(b"weights-v1")
    tracker = ml.Tracker("fraud", storage=str(tmp_path / "s"), archive=True)
    first = tracker.log(
        model_path=str(checkpoint), dataset=ml.DataSnapshot(hash="h1"), timestamp="2024-01-10"
    )
    checkpoint.write_bytes(b"weights-v2")
    tracker.log(
        model_path=str(checkpoint), dataset=ml.DataSnapshot(hash="h2"), timestamp="2024-02-10"
    )
    tracker.set_alias("production", first, at="2024-01-11")
    store = str(tmp_path / "s")
    shown = json.loads(
        cli("--store", store, "checkout", "fraud", "--at", "2024-01-20", "--json").stdout
    )
    assert shown["version"]["id"] == first.id
    result = cli("--store", store, "checkout", "fraud", "production", "--to", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out/model/model.bin").read_bytes() == b"weights-v1"
    again = cli("--store", store, "checkout", "fraud", "production", "--to", str(tmp_path / "out"))
    assert again.returncode == 2
    assert "not empty" in again.stderr
    early = cli("--store", store, "checkout", "fraud", "--at", "2023-12-01")
    assert early.returncode == 2
    assert "before the first version" in early.stderr


def run_module(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``python -m mlineage ARGS`` with extra environment variables."""
    return subprocess.run(
        [sys.executable, "-m", "mlineage", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src"), **env},
    )


def test_python_dash_m_mlineage_runs_the_command(store: str) -> None:
    result = run_module("--store", store, "models")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "fraud-detector\n"


def test_debug_shows_the_traceback_before_or_after_the_command(store: str) -> None:
    for args in (
        ("--debug", "--store", store, "show", "fraud-detector", "nope"),
        ("show", "fraud-detector", "nope", "--store", store, "--debug"),
    ):
        result = cli(*args)
        assert result.returncode == 1
        assert "Traceback" in result.stderr
        assert "VersionNotFound: no version" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["history", "fraud-detector", "--limit", "-1"],
        ["blame", "fraud-detector", "accuracy", "--limit", "-1"],
        ["fsck", "--temp-age", "-5"],
    ],
)
def test_negative_counts_are_usage_errors(store: str, args: list[str]) -> None:
    result = cli("--store", store, *args)
    assert result.returncode == 2
    assert result.stdout == ""
    option = args[-2]
    assert f"Invalid value for '{option}': {args[-1]}" in result.stderr
    assert "Traceback" not in result.stderr


def test_limit_zero_still_means_all_steps_for_blame(store: str) -> None:
    report = json.loads(
        cli(
            "--store", store, "blame", "fraud-detector", "accuracy", "--limit", "0", "--json"
        ).stdout
    )
    assert len(report["steps"]) == report["total_steps"] == 2


def test_every_command_has_help_with_examples(capsys: pytest.CaptureFixture[str]) -> None:
    from mlineage.cli import cli as group
    from mlineage.cli import main

    assert main(["--help"]) == 0
    top = capsys.readouterr().out
    assert "_MLINEAGE_COMPLETE=bash_source mlineage" in top
    for name in group.commands:
        assert main([name, "--help"]) == 0
        text = capsys.readouterr().out
        assert f"Usage: mlineage {name} " in text
        examples = text.split("Examples:")[1]
        assert re.search(rf"^ +mlineage .*\b{name}\b", examples, flags=re.M), text
        assert "--json" in text and "--store" in text and "--debug" in text
        assert name in top


def test_main_returns_the_status_of_errors(store: str, capsys: pytest.CaptureFixture[str]) -> None:
    from mlineage.cli import main

    assert main(["--store", store, "show", "fraud-detector", "nope"]) == 2
    assert capsys.readouterr().err.startswith("mlineage: error: no version")
    assert main(["history"]) == 2
    assert "Missing argument 'MODEL'" in capsys.readouterr().err


def test_store_from_the_environment(store: str) -> None:
    result = run_module("aliases", "fraud-detector", MLINEAGE_STORE=store)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1].split()[0] == "production"


def test_store_after_the_command_wins_over_the_one_before(store: str, tmp_path: Path) -> None:
    result = cli(
        "--store", str(tmp_path / "elsewhere"), "aliases", "fraud-detector", "--store", store
    )
    assert result.returncode == 0, result.stderr
    name = json.loads(
        cli("--store", store, "show", "fraud-detector", "production", "--json").stdout
    )
    assert result.stdout.split()[-1] == name["name"]


def test_aliases_are_a_table_on_a_terminal_and_plain_columns_in_a_pipe(store: str) -> None:
    import pty

    piped = cli("--store", store, "aliases", "fraud-detector").stdout
    production = ml.Tracker.load("fraud-detector", storage=store).abbrev("production")
    assert [line.split() for line in piped.splitlines()] == [
        ["alias", "version", "name"],
        ["production", production, "v1"],
    ]
    assert "\x1b" not in piped and "\t" not in piped
    leader, follower = pty.openpty()
    result = subprocess.run(
        [sys.executable, "-m", "mlineage", "--store", store, "aliases", "fraud-detector"],
        stdout=follower,
        stderr=subprocess.PIPE,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")},
    )
    os.close(follower)
    shown = os.read(leader, 65536).decode()
    os.close(leader)
    assert result.returncode == 0, result.stderr
    lines = [line.strip() for line in shown.splitlines()]
    assert "alias" in lines[0] and "version" in lines[0] and "name" in lines[0]
    assert lines[2].startswith("production") and lines[2].endswith("v1")
    assert "\t" not in shown


def test_a_closed_pipe_ends_quietly(store: str) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "mlineage", "--store", store, "history", "fraud-detector"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")},
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # the reader goes away before anything is written, like `head -0`
    stderr = process.stderr.read()
    assert process.wait(timeout=60) == 0
    assert stderr == b""


def test_completion_offers_the_models_of_the_store(store: str) -> None:
    result = run_module(
        _MLINEAGE_COMPLETE="bash_complete",
        COMP_WORDS=f"mlineage --store {store} history fr",
        COMP_CWORD="4",
    )
    assert result.stdout.split() == ["plain,fraud-detector"]


def test_help_imports_neither_numpy_nor_the_tracker() -> None:
    code = (
        "import sys\n"
        "from mlineage.cli import main\n"
        "status = main(['--help'])\n"
        "heavy = ('numpy', 'mlineage.tracker', 'rich', 'pandas', 'networkx')\n"
        "print(status, [m for m in heavy if m in sys.modules], file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")},
    )
    assert result.stderr.strip() == "0 []"


def test_show_and_evidence_list_what_tools_found(store: str) -> None:
    tracker = ml.Tracker.load("fraud-detector", storage=store)
    imported = tracker.log(
        model_path="3.pt",
        dataset=ml.DataSnapshot(hash="sha256:3"),
        name="v3",
        origin=ml.Origin(system="mlflow", id="run-42", uri="runs:/run-42/model"),
    )
    report = tracker.attach_evidence(
        "v1", "evidently", {"metrics": []}, {"drift_share": 0.4}, tool="evidently"
    )
    tracker.attach_evidence("v2", "gate", summary={"passed": False})
    out = cli("--store", store, "show", "fraud-detector", "v1").stdout
    assert re.search(r"^evidence +\S+ \S+ evidently \w{8} \{\"drift_share\": 0.4\}", out, re.M)
    shown = json.loads(cli("--store", store, "show", "fraud-detector", "v1", "--json").stdout)
    assert [e["id"] for e in shown["evidence"]] == [report.id]
    assert shown["evidence"][0]["payload"] == report.payload
    shown = json.loads(cli("--store", store, "show", "fraud-detector", "v3", "--json").stdout)
    assert shown["origin"]["id"] == "run-42" and shown["evidence"] == []
    assert "run-42" in cli("--store", store, "show", "fraud-detector", imported.id).stdout
    listed = cli("--store", store, "evidence", "fraud-detector")
    assert listed.returncode == 0
    assert listed.stdout.startswith("2 evidence")
    assert listed.stdout.index("gate") < listed.stdout.index("evidently")  # newest first
    along = json.loads(
        cli("--store", store, "evidence", "fraud-detector", "--on", "v1", "--json").stdout
    )
    assert [e["kind"] for e in along["evidence"]] == ["evidently"]
    none = cli("--store", store, "evidence", "fraud-detector", "--kind", "nannyml")
    assert none.returncode == 1 and "none" in none.stdout


def test_alias_set_with_expect_is_a_compare_and_set(store: str) -> None:
    refused = cli("--store", store, "alias", "set", "fraud-detector", "production", "v2",
                  "--expect", "v0")  # fmt: skip
    assert refused.returncode == 1
    assert refused.stderr.startswith("mlineage: refused: alias 'production'")
    assert "nothing was written" in refused.stderr
    as_json = cli("--store", store, "alias", "set", "fraud-detector", "production", "v2",
                  "--expect", "v0", "--json")  # fmt: skip
    data = json.loads(as_json.stdout)
    assert as_json.returncode == 1 and data["found"]["seq"] == 1
    moved = cli("--store", store, "alias", "set", "fraud-detector", "production", "v2",
                "--expect", "v1", "--reason", "passed the gate", "--json")  # fmt: skip
    assert moved.returncode == 0, moved.stderr
    event = json.loads(moved.stdout)
    assert (event["seq"], event["reason"]) == (2, "passed the gate")
    tracker = ml.Tracker.load("fraud-detector", storage=store)
    assert tracker.resolve("production").name == "v2"


def test_every_handle_the_commands_print_resolves(store: str) -> None:
    tracker = ml.Tracker.load("fraud-detector", storage=store)
    handles = {tracker.abbrev(v) for v in tracker.versions()}
    assert all(len(h) == 8 for h in handles)
    printed = "\n".join(
        cli("--store", store, *args).stdout
        for args in (
            ("log", "fraud-detector", "--graph"),
            ("history", "fraud-detector"),
            ("aliases", "fraud-detector"),
            ("blame", "fraud-detector", "accuracy"),
            ("diff", "fraud-detector", "v0", "v2"),
        )
    )
    shown = set(re.findall(r"(?<![\w.])[0-9a-f]{8,}\b", printed))
    assert handles <= shown  # every version appears by its handle, and nothing else does
    assert shown <= handles
    for short in shown:
        out = json.loads(cli("--store", store, "show", "fraud-detector", short, "--json").stdout)
        assert out["id"].endswith(short)


def test_model_may_be_left_out_when_the_store_holds_one(store: str) -> None:
    full = cli("--store", store, "blame", "fraud-detector", "accuracy")
    short = cli("--store", store, "blame", "accuracy")
    assert short.returncode == full.returncode == 0 and short.stdout == full.stdout
    assert (
        cli("--store", store, "history").stdout
        == cli("--store", store, "history", "fraud-detector").stdout
    )
    assert "v1" in cli("--store", store, "history", "v1").stdout  # a ref, not a model
    assert cli("--store", store, "diff", "v0", "v2").returncode == 0
    missing = cli("--store", store, "blame")
    assert missing.returncode == 2 and "Missing argument 'METRIC'" in missing.stderr
    assert "[MODEL] METRIC" in cli("blame", "--help").stdout
    ml.Tracker("churn-model", storage=store).log(model_path="m", dataset=ml.DataSnapshot(hash="h"))
    two = cli("--store", store, "blame", "accuracy")
    assert two.returncode == 2
    assert "which holds 2 models: churn-model, fraud-detector; name the model" in two.stderr
    nothing = cli("--store", store, "history")
    assert "the store holds 2 models: churn-model, fraud-detector; name one" in nothing.stderr


def test_a_metric_nobody_logged_lists_the_metrics_that_exist(store: str) -> None:
    for args in (("blame", "fraud-detector", "acc"), ("log", "fraud-detector", "--metric", "acc")):
        result = cli("--store", store, *args)
        assert result.returncode == 2
        assert result.stderr.strip() == (
            "mlineage: error: no version of model 'fraud-detector' logged metric 'acc'; "
            "the metrics logged: accuracy"
        )


MODULE = [sys.executable, "-m", "mlineage"]


def test_report_open_prints_the_address_when_no_browser_can_open(
    store: str, tmp_path: Path
) -> None:
    out = tmp_path / "r.html"
    result = subprocess.run(
        [*MODULE, "--store", store, "report", "fraud-detector", "-o", str(out), "--open"],
        capture_output=True,
        text=True,
        timeout=120,
        env={
            **os.environ,
            "PYTHONPATH": str(Path(__file__).parents[1] / "src"),
            "BROWSER": "false",  # a "browser" that always fails, as on a server
        },
    )
    assert result.returncode == 0, result.stderr
    assert f"open {out.resolve().as_uri()} yourself" in result.stdout


def _commands() -> list[tuple[str, object]]:
    import click

    from mlineage.cli import cli as group

    found = []
    todo: list[tuple[str, click.Command]] = [("mlineage", group)]
    while todo:
        path, command = todo.pop()
        found.append((path, command))
        if isinstance(command, click.Group):
            todo += [(f"{path} {n}", c) for n, c in command.commands.items()]
    return found


def test_every_command_and_option_has_help_text() -> None:
    import click

    commands = _commands()
    assert len(commands) > 25
    for path, command in commands:
        assert isinstance(command, click.Command)
        assert command.help or command.short_help, path
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.help and len(param.help) > 10, (path, param.opts)


def test_no_error_message_reads_like_python(store: str, tmp_path: Path) -> None:
    python_like = re.compile(r"Traceback|\b[a-z_]+\([a-z_, =.]*\)|Tracker\.|tracker\.")
    for args in (
        ("compare", "fraud-detector", "v0"),
        ("show", "fraud-detector", "nope"),
        ("blame", "fraud-detector", "acc"),
        ("drift", "fraud-detector"),
        ("checkout", "fraud-detector", "--at", "1999-01-01"),
        ("history", "no-such-model"),
        ("diff", "fraud-detector", "v0"),
    ):
        result = cli("--store", store, *args)
        assert result.returncode == 2, args
        assert not python_like.search(result.stderr), (args, result.stderr)
