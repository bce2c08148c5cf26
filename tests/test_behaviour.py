"""verifier.behaviour: reference store, fresh prompts, the statistic and decision; end to end
against real llama.cpp servers: the honest weights match, each impostor kind is a mismatch."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from registry.identity.serve import start_plain_llama
from registry.names import ReleaseName
from verifier.behaviour import (
    Generation,
    PromptSource,
    ReferenceStore,
    Replayer,
    Statistic,
    compare,
    decide,
    run_behaviour,
    summarise,
)
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
    assert PromptSource.from_folder(tmp_path).prompts("n1", 8) == a.prompts("n1", 8)  # reproducible
    assert a.prompts("n1", 8) != a.prompts("n2", 8)
    assert PromptSource(os.urandom(32)).prompts("n1", 8) != a.prompts("n1", 8)  # another secret
    assert len(set(a.prompts("n3", 8))) == 8 and all(p.strip() for p in a.prompts("n3", 8))


def _gen(text: str, lps: list[float] | None) -> Generation:
    toks = tuple(text.split())
    return Generation(text, toks, tuple(lps) if lps is not None else None)


def test_statistic_and_decision() -> None:
    same = [compare(f"p{i}", _gen("a b c", [-0.1, -0.2, -0.3]), _gen("a b c", [-0.1, -0.2, -0.3])) for i in range(8)]
    assert decide(summarise(same)) == "match"
    # tiny float noise, same text: another engine build -> inconclusive, never an accusation
    noisy = [compare(f"p{i}", _gen("a b c", [-0.1, -0.201, -0.3]), _gen("a b c", [-0.1, -0.2, -0.3])) for i in range(8)]
    assert decide(summarise(noisy)) == "inconclusive"
    # one flipped answer out of 8: not overwhelming
    one = [*same[:7], compare("p", _gen("a x", [-0.1, -2.0]), _gen("a b", [-0.1, -0.5]))]
    assert decide(summarise(one)) == "inconclusive"
    # most answers differ: overwhelming
    many = [compare(f"p{i}", _gen("x y", [-1.0, -1.0]), _gen("a b", [-0.1, -0.2])) for i in range(8)]
    stat = summarise(many)
    assert stat.text_differs == 8 and stat.logprob_differs == 8 and decide(stat) == "mismatch"
    # without logprobs, text alone decides
    no_lp = [compare(f"p{i}", _gen("x", None), _gen("a", None)) for i in range(8)]
    assert decide(summarise(no_lp)) == "mismatch"
    assert decide(Statistic(0, 0, 0, 0, None, False)) == "inconclusive"


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
    result = run_behaviour(
        guard, servers[server], REL, reference, digest, PromptSource(os.urandom(32)), replayer, n_prompts=6
    )
    assert result.decision == expected, (server, result.statistic, result.per_prompt)
    check = result.check()
    assert check.evidence["params"]["temperature"] == 0.0 and check.evidence["engine"].startswith("llama-cpp-python")
    assert check.evidence["statistic"]["prompts"] == 6
