"""registry.names: the on-chain character rules, release names and keccak ids."""

from __future__ import annotations

import pytest
from eth_hash.auto import keccak
from hypothesis import given
from hypothesis import strategies as st

from registry import errors
from registry.names import (
    ReleaseName,
    check_model,
    check_namespace,
    check_reason,
    check_version,
    did_id,
    model_id,
    namespace_id,
    release_id,
)


@pytest.mark.parametrize("name", ["ab", "deepseek", "deep-seek", "a1-b2-c3", "0x", "a" * 64])
def test_valid_namespaces(name: str) -> None:
    assert check_namespace(name) == name


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("a", "2 to 64"),
        ("a" * 65, "2 to 64"),
        ("-ab", "hyphen"),
        ("ab-", "hyphen"),
        ("a--b", "double hyphen"),
        ("Deepseek", "U\\+0044"),
        ("deep_seek", "U\\+005F"),
        ("d\u0435epseek", "U\\+0435"),  # Cyrillic e, a look-alike
        ("deepseek\u200b", "U\\+200B"),  # zero-width space
    ],
)
def test_invalid_namespaces(name: str, why: str) -> None:
    with pytest.raises(errors.InvalidName, match=why):
        check_namespace(name)


def test_model_and_version_rules() -> None:
    assert check_model("smollm2-135m-instruct.q4_1") == "smollm2-135m-instruct.q4_1"
    assert check_version("v1.0.0+build/7") == "v1.0.0+build/7"
    for bad in ["", "Model", "a b", "a/b", "m" * 65]:
        with pytest.raises(errors.InvalidName):
            check_model(bad)
    for bad in ["", "1 0", "1.0\t", "\u00e91", "v" * 65]:
        with pytest.raises(errors.InvalidName):
            check_version(bad)


@given(st.text(max_size=70))
def test_namespace_rule_matches_its_definition(name: str) -> None:
    allowed = set("abcdefghijklmnopqrstuvwxyz0123456789-")
    ok = (
        2 <= len(name) <= 64
        and set(name) <= allowed
        and not name.startswith("-")
        and not name.endswith("-")
        and "--" not in name
    )
    if ok:
        assert check_namespace(name) == name
    else:
        with pytest.raises(errors.InvalidName):
            check_namespace(name)


def test_release_name_parse() -> None:
    r = ReleaseName.parse("smollm/smollm2-135m-instruct/1.0.0/rc1")
    assert (r.namespace, r.model, r.version) == ("smollm", "smollm2-135m-instruct", "1.0.0/rc1")
    assert str(r) == "smollm/smollm2-135m-instruct/1.0.0/rc1"
    for bad in ["smollm", "smollm/x", "Smollm/x/1"]:
        with pytest.raises(errors.InvalidName):
            ReleaseName.parse(bad)


def test_ids_are_keccak_of_the_name_strings() -> None:
    r = ReleaseName("smollm", "chat", "1.0")
    assert namespace_id("smollm") == keccak(b"smollm")
    assert model_id("smollm", "chat") == keccak(b"smollm/chat")
    assert release_id(r) == keccak(b"smollm/chat/1.0")
    assert did_id("did:key:z6Mk") == keccak(b"did:key:z6Mk")
    assert len({namespace_id("smollm"), model_id("smollm", "chat"), release_id(r)}) == 3


@pytest.mark.parametrize("reason", ["", "superseded by 1.0.1", "~" * 256, " leading and trailing spaces "])
def test_revocation_reasons_the_registry_accepts(reason: str) -> None:
    assert check_reason(reason) == reason


@pytest.mark.parametrize("reason", ["a\x00b", "line\nbreak", "\x7f", "x" * 257, "caf\u00e9", "\udcff"])
def test_revocation_reasons_the_registry_refuses(reason: str) -> None:
    with pytest.raises(errors.InvalidName):
        check_reason(reason)


def test_a_hugging_face_model_id_is_shown_its_registered_spelling() -> None:
    with pytest.raises(errors.InvalidName) as caught:
        check_model("SmolLM2-135M-Instruct")
    assert "'smollm2-135m-instruct'" in caught.value.hint and "upper case" in caught.value.message
    with pytest.raises(errors.InvalidName) as ns:
        check_namespace("HuggingFaceTB")
    assert "'huggingfacetb'" in ns.value.hint
