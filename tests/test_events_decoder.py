"""registry.chain.events.decode_data: the direct decoder accepts exactly what eth_abi accepts.

The indexer reads every event's data part with :func:`decode_data` instead of eth_abi (about ten
times faster). Chain data is untrusted, so the two must agree on every input: these tests decode
valid encodings (eth_abi's own), mutations of them and random bytes both ways, and require both
to raise, or both to give the same values.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from eth_abi import encode
from eth_abi.abi import decode as abi_decode
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from registry.chain.events import MAX_EVENT_TEXT, DataError, _norm, decode_data, safe_text

TYPES = ("bytes32", "uint64", "address", "string", "string[]")
WIRE = {"string": "bytes", "string[]": "bytes[]"}  # strings are read as bytes (safe_text after)


def reference(types: tuple[str, ...], data: bytes) -> list[Any]:
    """What decode_data must return: eth_abi's strict decoding, normalised as the events module does."""
    values = abi_decode([WIRE.get(t, t) for t in types], data, strict=True)
    return [_norm(t, v) for t, v in zip(types, values, strict=True)]


def outcome(fn: Any, types: tuple[str, ...], data: bytes) -> tuple[str, Any]:
    try:
        return ("ok", fn(types, data))
    except Exception:  # the kind of error may differ (eth_abi's vs DataError); refusing is what must agree
        return ("error", None)


def same(types: tuple[str, ...], data: bytes) -> None:
    assert outcome(decode_data, types, data) == outcome(reference, types, data), (types, data.hex())


def word(value: int) -> bytes:
    return value.to_bytes(32, "big")


# --- values and their encodings ---------------------------------------------------------------

strings = st.one_of(
    st.binary(max_size=80),  # invalid UTF-8 too: a string is bytes on the wire
    st.text(max_size=40).map(str.encode),
    st.just(b""),
    st.binary(min_size=MAX_EVENT_TEXT - 4, max_size=MAX_EVENT_TEXT + 40),  # past the cut of safe_text
    st.sampled_from([b"\x00", b"\xff\xfe", "deepseek\u200b".encode(), b"a" * 32, b"b" * 33]),
)
VALUES = {
    "bytes32": st.binary(min_size=32, max_size=32),
    "uint64": st.integers(0, 2**64 - 1),
    "address": st.binary(min_size=20, max_size=20),
    "string": strings,
    "string[]": st.lists(strings, max_size=4),
}
type_lists = st.lists(st.sampled_from(TYPES), min_size=1, max_size=7).map(tuple)


@st.composite
def encoded(draw: st.DrawFn) -> tuple[tuple[str, ...], bytes]:
    types = draw(type_lists)
    values = [draw(VALUES[t]) for t in types]
    return types, encode([WIRE.get(t, t) for t in types], values)


@st.composite
def mutated(draw: st.DrawFn) -> tuple[tuple[str, ...], bytes]:
    """A valid encoding with a few of the changes a hostile log could make."""
    types, data = draw(encoded())
    buf = bytearray(data)
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["byte", "word", "truncate", "extend", "small-word", "huge-word"]))
        if kind == "truncate" and buf:
            del buf[draw(st.integers(0, len(buf) - 1)) :]
        elif kind == "extend":
            buf += draw(st.binary(min_size=1, max_size=70))
        elif buf and kind == "byte":
            buf[draw(st.integers(0, len(buf) - 1))] = draw(st.integers(0, 255))
        elif len(buf) >= 32:
            at = 32 * draw(st.integers(0, len(buf) // 32 - 1))
            value = {
                "word": draw(st.integers(0, 2**256 - 1)),
                "small-word": draw(st.integers(0, len(buf) + 64)),  # offsets and lengths near the edges
                "huge-word": draw(st.sampled_from([2**255, 2**256 - 1, 2**64, 2**160, 2**63 - 1, 2**256 - 32])),
            }.get(kind, 0)
            buf[at : at + 32] = value.to_bytes(32, "big")
    return types, bytes(buf)


# --- the differential tests ---------------------------------------------------------------------


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(encoded())
def test_valid_encodings_decode_the_same(case: tuple[tuple[str, ...], bytes]) -> None:
    types, data = case
    assert decode_data(types, data) == reference(types, data)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_encodings_are_refused_or_decoded_the_same(case: tuple[tuple[str, ...], bytes]) -> None:
    same(*case)


@settings(max_examples=800, deadline=None)
@given(type_lists, st.binary(max_size=300))
@example(("uint64",), word(2**64))  # a uint64 one past its range (non-zero padding)
@example(("address",), word(2**160))
@example(("string",), bytes(31))
@example(("string",), (32).to_bytes(32, "big"))  # a pointer at the end of the data
@example(("string",), (0).to_bytes(32, "big") + bytes(32))  # a pointer into the head
@example(("string[]",), (32).to_bytes(32, "big") + bytes(32))  # an empty array
@example(("string[]",), (32).to_bytes(32, "big") + (1).to_bytes(32, "big") + bytes(32))  # item pointer into offsets
def test_random_bytes_are_refused_or_decoded_the_same(types: tuple[str, ...], data: bytes) -> None:
    same(types, data)


HOSTILE = [
    ("a string 2^255 bytes long", ("string",), word(32) + word(2**255)),
    ("a string 2^256-1 bytes long", ("string",), word(32) + word(2**256 - 1)),
    ("an array of 2^255 strings", ("string[]",), word(32) + word(2**255)),
    ("an array of 2^64 strings", ("string[]",), word(32) + word(2**64) + word(32) * 3),
    ("a pointer 2^256-1", ("string",), word(2**256 - 1) + word(0)),
    ("an item pointer 2^256-1", ("string[]",), word(32) + word(1) + word(2**256 - 1) + word(0)),
]


@pytest.mark.parametrize(("what", "types", "data"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_lengths_fail_fast_without_allocating(what: str, types: tuple[str, ...], data: bytes) -> None:
    started = time.perf_counter()
    with pytest.raises(DataError):
        decode_data(types, data)
    assert time.perf_counter() - started < 0.05, what
    assert outcome(reference, types, data)[0] == "error"


def test_strings_are_kept_as_safe_text() -> None:
    """Invalid UTF-8 and NUL become U+FFFD and a long string is cut, as :func:`safe_text` says."""
    raw = [b"ok\x00", b"\xff\xfe", b"x" * (MAX_EVENT_TEXT + 10)]
    data = encode(["bytes", "bytes[]"], [raw[0], raw])
    assert decode_data(("string", "string[]"), data) == [safe_text(raw[0]), [safe_text(r) for r in raw]]
    assert decode_data(("string",), encode(["bytes"], [b"ok\x00"])) == ["ok\ufffd"]


def test_other_types_go_through_eth_abi() -> None:
    data = encode(["uint256", "bool", "string"], [2**200, True, "x"])
    assert decode_data(("uint256", "bool", "string"), data) == [2**200, True, "x"]
    with pytest.raises(Exception):  # noqa: B017 - eth_abi's own error
        decode_data(("uint256", "bool"), data[:40])
