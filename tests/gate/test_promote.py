"""tracker.promote: the alias moves only on a pass, every verdict is kept as evidence, and
two promotions racing on one alias end with one winner and one clear refusal (local, S3,
GCS: the servers the suite starts)."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

import pytest

import mlineage as ml
from tests.gate.story import HISTORY, ISSUE_POLICY, RARE, Story
from tests.storage.servers import GCSServer, S3Server


@pytest.fixture
def story(tmp_path: Path) -> Story:
    story = Story(str(tmp_path / "store"))
    story.history()
    return story


def broken(story: Story) -> ml.ModelVersion:
    predictions = story.baseline()
    predictions[:RARE] = 1 - story.y[:RARE]
    return story.log(HISTORY[-1] + 0.01, predictions, name="broken")


def test_a_refusal_moves_nothing_and_is_kept_as_evidence(story: Story) -> None:
    tracker, policy = story.tracker, ml.GatePolicy.loads(ISSUE_POLICY)
    production = tracker.resolve("production")
    candidate = broken(story)
    promotion = tracker.promote(candidate, policy=policy)
    assert not promotion.promoted and promotion.decision == "refused"
    assert (
        repr(promotion).startswith("<Promotion production: refused")
        and len(repr(promotion)) < 2_000
    )
    assert promotion.move is None and "slices.max_drop" in promotion.message
    assert tracker.resolve("production") == production
    assert len(tracker.alias_history("production")) == 1
    fresh = ml.Tracker.load("gated", storage=tracker.store)  # what others will see
    (verdict,) = fresh.evidence(kind="gate")
    assert verdict.version == candidate.id and verdict.tool == "mlineage"
    assert verdict.summary["decision"] == "refused" and verdict.summary["passed"] is False
    assert verdict.summary["policy"] == policy.hash
    assert "slices.max_drop" in verdict.summary["failed"]
    payload = fresh.load_evidence(verdict)
    assert payload["gate"]["policy"]["text"] == ISSUE_POLICY
    assert payload["gate"]["against"]["id"] == production.id
    assert payload["gate"] == promotion.result.to_dict()


def test_a_pass_moves_the_alias_citing_its_verdict(story: Story) -> None:
    tracker = story.tracker
    candidate = story.log(HISTORY[-1])
    promotion = tracker.promote(candidate, policy=ml.GatePolicy.loads(ISSUE_POLICY))
    assert promotion.promoted and promotion.decision == "pass"
    assert tracker.resolve("production") == candidate
    fresh = ml.Tracker.load("gated", storage=tracker.store)
    first, move = fresh.alias_history("production")
    assert move.id == promotion.move.id and move.version == candidate.id  # type: ignore[union-attr]
    assert move.evidence == promotion.verdict.id and not move.forced
    verdict = fresh.load_evidence(move.evidence)  # the history says on what evidence
    assert verdict["decision"] == "pass" and verdict["expect"] == first.version
    assert str(promotion).startswith("promote production: PASS")
    assert promotion.to_dict()["move"] == move.id


def test_a_forced_move_needs_a_reason_and_is_recorded_as_forced(story: Story) -> None:
    tracker, policy = story.tracker, ml.GatePolicy.loads(ISSUE_POLICY)
    candidate = broken(story)
    before = set(tracker.store.list())
    with pytest.raises(ml.InvalidInput, match="needs a reason"):
        tracker.promote(candidate, policy=policy, force=True)
    with pytest.raises(ml.InvalidInput, match="exactly one of them"):
        tracker.promote(candidate)
    with pytest.raises(ml.InvalidInput, match="a version's name"):
        tracker.promote(candidate, "v1", policy=policy)
    assert set(tracker.store.list()) == before  # nothing half-written
    promotion = tracker.promote(candidate, policy=policy, force=True, reason="hotfix, on-call ok")
    assert promotion.promoted and promotion.decision == "forced"
    move = tracker.alias_history("production")[-1]
    assert move.forced and move.reason == "hotfix, on-call ok"
    assert tracker.evidence(kind="gate")[0].summary["reason"] == "hotfix, on-call ok"
    assert "forced past" in promotion.message


def test_a_first_promotion_compares_with_nothing_and_expects_the_alias_unset(
    tmp_path: Path,
) -> None:
    story = Story(str(tmp_path / "s"))
    candidate = story.log(0.9)
    policy = ml.GatePolicy.loads(ISSUE_POLICY + "\n[evidence]\nfingerprint = true\n")
    promotion = story.tracker.promote(candidate, policy=policy)
    assert promotion.promoted and promotion.result.against_version is None
    assert promotion.result["evidence.fingerprint"].status == "pass"
    assert {r.status for r in promotion.result.rules} == {"skip", "pass"}
    assert story.tracker.load_evidence(promotion.verdict)["expect"] is None


def test_a_stale_result_is_refused_as_a_conflict(story: Story) -> None:
    tracker, policy = story.tracker, ml.GatePolicy.loads(ISSUE_POLICY)
    first, second = story.log(HISTORY[-1], name="first"), story.log(HISTORY[-1], name="second")
    stale = tracker.gate(second, policy=policy)
    assert tracker.promote(first, policy=policy).promoted  # someone promoted meanwhile
    promotion = tracker.promote(second, result=stale)
    assert promotion.decision == "conflict" and not promotion.promoted
    assert "production moved after the gate compared with it" in promotion.message
    assert tracker.resolve("production") == first
    assert promotion.conflict is not None
    assert promotion.conflict.summary["verdict"] == promotion.verdict.id
    with pytest.raises(ml.InvalidInput, match="result= is the gate of"):
        tracker.promote(first, result=stale)


def test_promote_refuses_a_read_only_tracker_before_the_gate_runs(story: Story) -> None:
    reader = ml.Tracker.load("gated", storage=story.tracker.store.uri, read_only=True)
    with pytest.raises(ml.ReadOnlyError, match="promote needs a writable tracker"):
        reader.promote("v1", policy=ml.GatePolicy.loads(ISSUE_POLICY))


# -- the race ---------------------------------------------------------------------------------


def _racer(uri: str, env: dict[str, str], candidate: str, barrier: Barrier, out: Any) -> None:
    """Gate ``candidate``, wait until the other racer has gated too, then promote."""
    os.environ.update(env)
    tracker = ml.Tracker.load("gated", storage=uri)
    result = tracker.gate(candidate, policy=ml.GatePolicy.loads(ISSUE_POLICY))
    barrier.wait(120)
    promotion = tracker.promote(candidate, result=result)
    out.put((candidate, promotion.decision, promotion.message))


@pytest.fixture(params=["local", "s3", "gcs"])
def backend(
    request: pytest.FixtureRequest, tmp_path: Path, s3_server: S3Server, gcs_server: GCSServer
) -> Iterator[tuple[str, dict[str, str]]]:
    if request.param == "local":
        yield str(tmp_path / "store"), {}
        return
    server = s3_server if request.param == "s3" else gcs_server
    with pytest.MonkeyPatch.context() as patch:
        for name, value in server.env.items():
            patch.setenv(name, value)
        yield server.new_uri(), server.env


def test_two_promotions_racing_have_one_winner_and_one_clear_refusal(
    backend: tuple[str, dict[str, str]],
) -> None:
    uri, env = backend
    story = Story(uri)
    production = story.history()
    candidates = [story.log(HISTORY[-1], name=f"candidate-{i}").id for i in range(2)]
    context = multiprocessing.get_context("spawn")
    barrier, out = context.Barrier(2), context.Queue()
    racers = [context.Process(target=_racer, args=(uri, env, c, barrier, out)) for c in candidates]
    for racer in racers:
        racer.start()
    results = [out.get(timeout=180) for _ in racers]
    for racer in racers:
        racer.join(60)
        assert racer.exitcode == 0
    decisions = sorted(decision for _, decision, _ in results)
    assert decisions == ["conflict", "pass"], results
    winner = next(c for c, d, _ in results if d == "pass")
    loser_message = next(m for _, d, m in results if d == "conflict")
    assert "production moved after the gate compared with it" in loser_message
    assert production.short_id in loser_message  # it says what it expected
    fresh = ml.Tracker.load("gated", storage=uri)
    assert fresh.resolve("production").id == winner
    assert [m.version for m in fresh.alias_history("production")] == [production.id, winner]
    summaries = sorted(e.summary["decision"] for e in fresh.evidence(kind="gate"))
    assert summaries == ["conflict", "pass", "pass"]  # both verdicts, and the refusal
