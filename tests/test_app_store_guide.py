"""docs/app-stores.md is true: its example decision runs on real verdicts (made by the verdict rule
itself, and one fetched from a running verifier), and its tables name every verdict word and
every warning code there is."""

from __future__ import annotations

import re
import typing
from pathlib import Path
from typing import Any

import pytest
from servers import serve_app
from test_api import World

from registry.names import ReleaseName
from registry.verdict import WARNING_CODES, ChainView, Check, VerdictWord
from verifier.check import ReleaseFact, judge

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "app-stores.md"
REL = ReleaseName("acme", "chat-7b", "1.0.0")
REGISTRY = "0x" + "ab" * 20
PROVEN = [Check(name, "pass", "ok") for name in ("identity", "challenge", "chain", "receipt")]
BEHAVES = Check("behaviour", "pass", "same answers as the registered weights")


@pytest.fixture(scope="module")
def guide() -> dict[str, Any]:
    """The guide's example, run as written."""
    blocks = re.findall(r"```python\n(.*?)```", GUIDE.read_text(), flags=re.S)
    namespace: dict[str, Any] = {}
    exec(blocks[0], namespace)  # the definitions; blocks[1] is their use against a real verifier
    assert "check_listing(" in blocks[1] and "listing_decision(" in blocks[1]
    return namespace


def answer(
    checks: list[Check], *, chain_id: int = 1, confusions: list[dict[str, Any]] | None = None, **view: Any
) -> dict[str, Any]:
    fact = ReleaseFact("0x01", "cd" * 32, 0, None)
    revoked = view.pop("revoked", False)
    if revoked:
        fact = ReleaseFact("0x01", "cd" * 32, 5, "withdrawn")
    v = judge(
        "https://chat.acme.example", REL, fact, confusions or [], ChainView(chain_id, REGISTRY, 9, **view), checks
    )
    return v.verdict.as_json()


LOOKALIKE = [{"namespace": "acme-corp", "reason": "affix", "detail": "acme + corp"}]
CASES = [
    ("list", answer([*PROVEN, BEHAVES])),
    ("list", answer(PROVEN)),  # identity proven, behaviour not checked: the store's choice, shown
    ("review", answer([*PROVEN, BEHAVES], confusions=LOOKALIKE)),
    ("hold", answer([*PROVEN, BEHAVES], chain_id=31337)),  # a development chain proves nothing
    ("hold", answer([*PROVEN, BEHAVES], stale=True)),
    ("hold", answer([Check("identity", "fail", "no identity endpoint", decisive="unverified")])),
    ("refuse", answer([*PROVEN[:1], Check("challenge", "fail", "relayed", warning="relayed-answers")])),
    ("refuse", answer([*PROVEN, Check("behaviour", "fail", "other weights")])),
    ("refuse", answer(PROVEN, revoked=True)),
]


@pytest.mark.parametrize(("expected", "verdict"), CASES)
def test_the_guides_decision_on_real_verdicts(guide: dict[str, Any], expected: str, verdict: dict[str, Any]) -> None:
    trusted = verdict["chain"]["chainId"], REGISTRY.upper().replace("0X", "0x")  # the store's own pins
    decision, shown = guide["listing_decision"](verdict, *trusted)
    assert decision == expected, verdict
    assert len(shown) == len(verdict["warnings"])  # every warning is shown to a person


def test_another_registry_is_never_trusted(guide: dict[str, Any]) -> None:
    decision, shown = guide["listing_decision"](answer([*PROVEN, BEHAVES]), 1, "0x" + "00" * 20)
    assert decision == "hold" and "another chain or registry" in shown[-1]


def test_the_guides_request_against_a_running_verifier(
    guide: dict[str, Any], anvil_url: str, tmp_path: Path, model_dir: Path
) -> None:
    world = World(anvil_url, tmp_path, model_dir)
    with serve_app(world.app) as verifier:
        got = guide["check_listing"](verifier, "http://127.0.0.1:9/v1", "deepseek/chat/1.0.0")
    assert got["verdict"] == "unverified" and got["chain"]["registry"] == world.client.address
    assert guide["listing_decision"](got, 31337, world.client.address)[0] == "hold"


def test_the_guide_names_every_verdict_and_warning() -> None:
    text = GUIDE.read_text()
    for word in typing.get_args(VerdictWord):
        assert f"| `{word}` |" in text, word
    for code in WARNING_CODES:
        assert f"| `{code}` |" in text, code
