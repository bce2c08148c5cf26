"""verifier.behaviour: reference store, fresh prompts, the statistic and decision; end to end
against real llama.cpp servers: the honest weights match, each impostor kind is a mismatch."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from registry.identity.serve import start_plain_llama
from registry.names import ReleaseName
from registry.verdict import ChainView, Check, Verdict
from verifier.behaviour import (
    EXACT_PROMPTS,
    BehaviourResult,
    Generation,
    Job,
    PromptSource,
    ReferenceStore,
    Replayer,
    chat_body,
    check_on_record,
    compare,
    comparison_for,
    decide,
    engine_version,
    run_behaviour,
    server_kwargs,
    summarise,
)
from verifier.check import ReleaseFact
from verifier.guard import GuardedClient, GuardPolicy

REL = ReleaseName("smollm", "smollm2-135m-instruct", "1.0.0")


def test_reference_store_rechecks_the_file(tmp_path: Path) -> None:
    f = tmp_path / "m.gguf"
    f.write_bytes(os.urandom(1000))
    store = ReferenceStore(tmp_path / "refs")
    d = store.add(f)
    assert store.get(d.hex) == f.resolve() and store.digests() == [d.hex]
    f.write_bytes(os.urandom(1000))  # the file changed after it was added
    assert store.get(d.hex) is None
    assert store.get("00" * 32) is None


def test_prompts_are_fresh_per_nonce_and_secret(tmp_path: Path) -> None:
    a = PromptSource.from_folder(tmp_path)
    assert (tmp_path / "behaviour.secret").stat().st_mode & 0o777 == 0o600
    assert PromptSource.from_folder(tmp_path).take("n1", 8) == a.take("n1", 8)  # reproducible
    assert a.take("n1", 8) != a.take("n2", 8)
    assert PromptSource(os.urandom(32)).take("n1", 8) != a.take("n1", 8)  # another secret
    assert len(set(a.take("n3", 40))) == 40 and all(p.strip() for p in a.take("n3", 40))


def test_the_prompt_space_is_far_too_large_to_enumerate_or_cache() -> None:
    assert PromptSource.space_size() >= 1_000_000
    drawn = {p for i in range(50) for p in PromptSource(os.urandom(32)).take(f"n{i}", 20)}
    assert len(drawn) >= 990  # 1,000 draws from several million: (almost) no repeats


def test_probe_requests_carry_only_standard_openai_parameters() -> None:
    body = chat_body("m", "Hi", 24)
    assert set(body) <= {"model", "messages", "max_tokens", "temperature", "logprobs", "top_logprobs"}
    kwargs = server_kwargs(body)  # what an honest llama-cpp-python server runs for it
    assert kwargs["temperature"] == 0 and kwargs["repeat_penalty"] == 1.1 and kwargs["max_tokens"] == 24


def _gen(text: str, lps: list[float] | None) -> Generation:
    toks = tuple(re.findall(r" ?\S+", text))  # tokens carry their leading space, as real ones do
    return Generation(text, toks, tuple(lps) if lps is not None else None)


SAME = compare("p", _gen("a b c", [-0.1, -0.2, -0.3]), _gen("a b c", [-0.1, -0.2, -0.3]))
NOISE = compare("p", _gen("a b c", [-0.1, -0.201, -0.3]), _gen("a b c", [-0.1, -0.2, -0.3]))  # 1e-3: float noise
TINY = compare("p", _gen("a b c", [-0.1, -0.20005, -0.3]), _gen("a b c", [-0.1, -0.2, -0.3]))  # 5e-5
FLIP = compare("p", _gen("a x", [-0.1, -2.0]), _gen("a b", [-0.1, -0.5]))
TEXT_SAME = compare("p", _gen("a b", None), _gen("a b", [-0.1, -0.2]))
TEXT_DIFF = compare("p", _gen("a x", None), _gen("a b", [-0.1, -0.2]))


def test_same_build_one_difference_is_conclusive_and_identical_answers_match() -> None:
    assert decide([SAME] * (EXACT_PROMPTS - 1), "exact", final=False) is None  # keep drawing
    assert decide([SAME] * EXACT_PROMPTS, "exact", final=False) == "match"
    assert decide([SAME, SAME, TINY], "exact", final=False) == "mismatch"  # 5e-5 nats on the same build
    assert decide([FLIP], "exact", final=False) == "mismatch"
    assert decide([SAME] * 3, "exact", final=True) == "inconclusive"  # stopped early: no promise


def test_text_only_needs_more_answers_and_never_matches_on_few() -> None:
    assert decide([TEXT_SAME] * 6, "exact", final=False) is None
    assert decide([TEXT_SAME] * 10, "exact", final=False) == "match"
    assert decide([TEXT_SAME, TEXT_DIFF], "exact", final=False) == "mismatch"
    result = BehaviourResult("match", "exact", summarise([TEXT_SAME] * 10, "exact"), "e", "e", "d", "n", 1.0)
    assert "exactly" not in result.detail() and "no log-probabilities" in result.detail()
    assert result.check().evidence["textOnly"] is True


BUILD = compare("p", _gen("a x", [-0.1, -0.9]), _gen("a b", [-0.05, -0.8]))  # a near tie flipped: 0.075 nats
FAR = compare("p", _gen("a b c", [-0.9, -1.2, -0.3]), _gen("a b c", [-0.1, -0.2, -0.3]))  # 0.6 nats: other weights
EARLY = compare("p", _gen("x y z", None), _gen("a b c", [-0.1, -0.2, -0.3]))  # text parts at the first token
LATE = compare("p", _gen("a b x", None), _gen("a b c", [-0.1, -0.2, -0.3]))  # parts at the third


def test_across_builds_text_alone_never_accuses_and_only_many_far_answers_do() -> None:
    assert BUILD.mean_gap is not None and not BUILD.differs("tolerance") and BUILD.differs("exact")
    assert decide([BUILD] * 12, "tolerance", final=False) == "match"  # other text, build-sized gaps
    assert decide([NOISE] * 11, "tolerance", final=False) is None
    assert decide([FAR] * 5, "tolerance", final=False) is None  # five are not enough across builds
    assert decide([FAR] * 6, "tolerance", final=False) == "mismatch"
    assert decide([FAR] * 2 + [NOISE] * 10, "tolerance", final=False) == "match"  # as honest builds can
    assert decide([FAR] * 3 + [NOISE] * 9, "tolerance", final=False) == "inconclusive"  # never both ways
    assert decide([FAR] * 3 + [NOISE] * 7, "tolerance", final=False) == "inconclusive"  # 6 out of reach


def test_across_builds_without_logprobs_only_early_parting_counts() -> None:
    assert EARLY.agreed_tokens == 0 and LATE.agreed_tokens == 2
    assert EARLY.differs("tolerance") and not LATE.differs("tolerance") and LATE.differs("exact")
    assert decide([LATE] * 12, "tolerance", final=False) is None  # text alone: 20 answers across builds
    assert decide([LATE] * 20, "tolerance", final=False) == "match"
    assert decide([EARLY] * 4 + [LATE] * 16, "tolerance", final=False) == "match"  # honest builds part early too
    assert decide([EARLY] * 12 + [LATE] * 8, "tolerance", final=False) == "inconclusive"
    assert decide([EARLY] * 13, "tolerance", final=False) == "mismatch"
    result = BehaviourResult("match", "tolerance", summarise([LATE] * 20, "tolerance"), "e", None, "d", "n", 1.0)
    assert "by text alone" in result.detail() and "exactly" not in result.detail()


def test_wording_names_the_comparison_and_what_it_cannot_exclude() -> None:
    exact = BehaviourResult("match", "exact", summarise([SAME] * 6, "exact"), "e", "e", "d", "n", 1.0)
    assert "exactly" in exact.detail() and "same engine build" in exact.detail()
    tolerance = BehaviourResult("match", "tolerance", summarise([NOISE] * 12, "tolerance"), "e", None, "d", "n", 1.0)
    assert "exactly" not in tolerance.detail() and "single changed weight" in tolerance.detail()
    assert "0.15 nats per token" in tolerance.detail()
    bad = BehaviourResult("mismatch", "exact", summarise([SAME, TINY], "exact"), "e", "e", "d", "n", 1.0)
    words = bad.detail()
    assert words.startswith("behaves unlike the registered weights: 1 of 2 fresh prompt(s)")
    assert "log-probabilities off by more than" in words and "chat template" in words
    assert "0/" not in words and "answers differ from the registered weights" not in words
    assert bad.check().status == "fail"
    unsure = BehaviourResult("inconclusive", "tolerance", summarise([FLIP], "tolerance"), "e", None, "d", "n", 1.0)
    assert unsure.check().status == "skip" and unsure.check().required


def test_comparison_is_exact_only_for_the_verifiers_own_build() -> None:
    assert comparison_for("build-a", "build-a") == "exact"
    assert comparison_for("build-b", "build-a") == "tolerance"
    assert comparison_for(None, "build-a") == "tolerance"


# --- end to end ------------------------------------------------------------------------------


def _llama(model: Path) -> tuple[str, subprocess.Popen[bytes]]:
    url, proc = start_plain_llama(model)
    return url, proc


@pytest.fixture(scope="module")
def servers(smollm_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    from tools.impostors import make_impostor

    folder = tmp_path_factory.mktemp("impostors")
    models = {"honest": smollm_model}
    for kind in ("one-weight", "tensor-noise", "requantized"):
        models[kind] = make_impostor(smollm_model, folder / f"{kind}.gguf", kind).dest  # type: ignore[arg-type]
    procs = []
    urls = {}
    try:
        for name, path in models.items():
            urls[name], proc = _llama(path)
            procs.append(proc)
        yield urls
    finally:
        for p in procs:
            p.terminate()
            p.wait()


@pytest.fixture(scope="module")
def replayer() -> Replayer:
    return Replayer()


@pytest.mark.parametrize(
    ("server", "expected"),
    [("honest", "match"), ("one-weight", "mismatch"), ("tensor-noise", "mismatch"), ("requantized", "mismatch")],
)
def test_behaviour_decision_per_server(
    servers: dict[str, str], replayer: Replayer, smollm_model: Path, tmp_path: Path, server: str, expected: str
) -> None:
    store = ReferenceStore(tmp_path / "refs")
    digest = store.add(smollm_model).hex
    reference = store.get(digest)
    assert reference is not None
    guard = GuardedClient(GuardPolicy(allow_loopback=True, read_timeout=120, total_timeout=180))
    declared = engine_version()  # the servers run this very build (as `modelseal serve` declares it)
    result = run_behaviour(
        guard, servers[server], REL, reference, digest, PromptSource(os.urandom(32)), replayer, declared_engine=declared
    )
    assert result.decision == expected, (server, result.statistic, result.per_prompt)
    check = result.check()
    assert check.evidence["comparison"] == "exact" and check.evidence["engine"] == declared
    n = check.evidence["statistic"]["prompts"]
    assert n == EXACT_PROMPTS if expected == "match" else 1 <= n <= EXACT_PROMPTS


# --- the result on record ---------------------------------------------------------------------


def _job(status: str | None, finished: float, error: str | None = None) -> Job:
    check = None if status is None else Check("behaviour", status, f"a {status}")  # type: ignore[arg-type]
    return Job(os.urandom(4).hex(), "https://chat.example", str(REL), "error" if error else "done",
               created=finished - 5, finished=finished, check=check, error=error)  # fmt: skip


def test_a_later_error_or_inconclusive_run_never_hides_a_mismatch() -> None:
    mismatch, error, unsure = _job("fail", 100), _job(None, 200, error="the endpoint answered 429"), _job("skip", 300)
    c = check_on_record([mismatch, error, unsure], now=400)
    assert c.status == "fail" and c.evidence["job"] == mismatch.id and c.evidence["ageSeconds"] == 300
    assert [r["job"] for r in c.evidence["laterRuns"]] == [error.id, unsure.id]
    assert Verdict.decide([Check("identity", "pass", "ok"), c]) == "mismatch"


def test_a_run_that_could_not_decide_is_a_warning_not_a_verdict() -> None:
    """Anyone may ask for a behavioural run, and a run can fail to decide for reasons that are not
    the endpoint's (no reference weights on the worker, a lost job): such runs must not take a
    proven identity's `verified` away (found in review), but they never establish behaviour."""
    from verifier.check import judge

    proven = [Check(n, "pass", "ok") for n in ("identity", "challenge", "chain", "receipt")]
    fact = ReleaseFact("0x01", "ab" * 32, 0, None)
    for history in ([_job("skip", 100)], [_job(None, 100, error="timeout")]):
        c = check_on_record(history, now=200)
        assert not c.required and c.status == "skip" and "could decide" in c.detail
        v = judge("https://chat.example", REL, fact, [], ChainView(1, "0x" + "11" * 20, 9), [*proven, c]).verdict
        assert v.verdict == "verified"
        assert [w["code"] for w in v.as_json()["warnings"]] == ["behaviour-not-established"]
    ok = Check("identity", "pass", "ok")
    nothing = check_on_record([], now=200)
    assert not nothing.required and Verdict.decide([ok, nothing]) == "verified"
    mismatch_then_noise = [_job("fail", 10), _job(None, 20, error="timeout"), _job("skip", 30)]
    assert check_on_record(mismatch_then_noise, now=40).status == "fail"  # later noise never hides a mismatch
    assert check_on_record([_job("fail", 10), _job("pass", 20)], now=30).status == "pass"  # the latest decisive
