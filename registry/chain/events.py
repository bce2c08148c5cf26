"""The registry's events, decoded from raw logs: the one decoder of the CLI client and the indexer.

Everything an event carries is untrusted input: a registry before 1.3 let a revocation reason be
any bytes (a NUL, invalid UTF-8, megabytes), and a log of the registry's address is only as well
formed as the code that emitted it. So strings are decoded as bytes and kept as safe text
(:func:`safe_text`), and a log that does not decode raises for the caller to record and pass over
- it never stops a reader. Decoding uses eth_abi directly: web3's log processing costs about 50
times more per log, which dominates an index catch-up.

:class:`EventSpec` decodes one event of the ABI; :func:`event_specs` maps topic0 to the specs of an
ABI; :func:`decode_log` turns one raw log into ``{"event", "args", "blockNumber", "logIndex",
"transactionHash"}`` (or ``None`` for a log of no known event). The data part of an event is read
by :func:`decode_data`: the registry's own types (``bytes32``, ``uint64``, ``address``, ``string``,
``string[]``) directly, with exactly the checks of ``eth_abi.decode(types, data, strict=True)`` (a
differential test holds the two together), any other type through eth_abi.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

MAX_EVENT_TEXT = 1024
"""Characters kept of one event string (names are at most 64 bytes on chain and reasons 256; a
registry before 1.3 let a revocation reason be any length)."""

_AS_BYTES = {"string": "bytes", "string[]": "bytes[]"}


def safe_text(raw: bytes) -> str:
    """An event string as text a database keeps and a page shows: invalid UTF-8 and NUL become
    U+FFFD, and a string longer than :data:`MAX_EVENT_TEXT` is cut there (marked with ``…``)."""
    text = bytes(raw).decode("utf-8", errors="replace").replace("\x00", "\ufffd")
    return text if len(text) <= MAX_EVENT_TEXT else text[: MAX_EVENT_TEXT - 1] + "…"


@functools.lru_cache(maxsize=16384)
def checksum(address: str) -> str:
    """EIP-55 spelling of an address (a keccak per call: cached, as a registry's logs name the
    same few accounts again and again)."""
    return to_checksum_address(address)


def _topic(typ: str, topic: bytes) -> Any:
    """One indexed field. The registry's are ``bytes32`` and ``address``, read here directly (as
    eth_abi would, padding checked); any other type goes through eth_abi."""
    if len(topic) != 32:
        raise ValueError(f"a topic is 32 bytes, not {len(topic)}")
    if typ == "bytes32":
        return topic
    if typ == "address":
        if any(topic[:12]):
            raise ValueError("an address topic with non-zero padding")
        return checksum("0x" + topic[12:].hex())
    return _norm(typ, abi_decode([typ], topic)[0])


def _norm(typ: str, value: Any) -> Any:
    if typ == "address":
        return checksum(value)
    if typ == "string":
        return safe_text(value)
    if typ == "string[]":
        return [safe_text(v) for v in value]
    return value


class DataError(ValueError):
    """The data part of a log does not decode as its event's types (what eth_abi would refuse)."""


_DIRECT = frozenset({"bytes32", "uint64", "address", "string", "string[]"})
_ZEROS = bytes(32)


def _word(data: bytes, pos: int) -> int:
    """The 32-byte big-endian unsigned integer at ``pos``."""
    if pos + 32 > len(data):
        raise DataError(f"a word at {pos} runs past the end of {len(data)} bytes of data")
    return int.from_bytes(data[pos : pos + 32], "big")


def _bytes_at(data: bytes, pos: int) -> bytes:
    """A ``bytes``/``string`` tail at ``pos``: its length, then the bytes zero-padded to a multiple
    of 32, all within ``data`` (a hostile length fails here, before anything is allocated)."""
    length = _word(data, pos)
    start = pos + 32
    end = start + length + (-length % 32)
    if end > len(data):
        raise DataError(f"a string of {length} bytes at {pos} runs past the end of {len(data)} bytes of data")
    if data[start + length : end] != _ZEROS[: end - start - length]:
        raise DataError(f"a string at {pos} with non-zero padding")
    return data[start : start + length]


def _strings_at(data: bytes, pos: int) -> list[str]:
    """A ``string[]`` tail at ``pos``: a count, then that many offsets (from the word after the
    count, each pointing past the offsets and inside the data), then the strings."""
    count = _word(data, pos)
    base = pos + 32
    end_of_offsets = base + 32 * count
    if end_of_offsets > len(data):
        raise DataError(f"an array of {count} strings at {pos} runs past the end of {len(data)} bytes of data")
    items = []
    for i in range(count):
        at = base + _word(data, base + 32 * i)
        if not end_of_offsets <= at < len(data):
            raise DataError(f"an invalid pointer in an array at {base + 32 * i}")
        items.append(at)
    return [safe_text(_bytes_at(data, at)) for at in items]


def decode_data(types: tuple[str, ...], data: bytes) -> list[Any]:
    """The data part of a log as ``types``: strings as :func:`safe_text`, addresses checksummed.

    It accepts exactly what ``eth_abi.decode(types, data, strict=True)`` accepts (strings read as
    bytes): words whole, padding zero, every offset pointing past the head and inside the data,
    every length within the data; anything else raises (:class:`DataError` here, eth_abi's errors
    for the types read through it). The registry's types are read directly, about ten times faster
    than eth_abi; a list with any other type goes through eth_abi."""
    if not _DIRECT.issuperset(types):
        values = abi_decode([_AS_BYTES.get(t, t) for t in types], data, strict=True)
        return [_norm(typ, value) for typ, value in zip(types, values, strict=True)]
    head = 32 * len(types)
    if head > len(data):
        raise DataError(f"{len(types)} fields need {head} bytes, the data has {len(data)}")
    size = len(data)
    out: list[Any] = []
    tails: list[tuple[int, str, int]] = []  # (field, type, offset): read once every pointer is checked
    for i, typ in enumerate(types):
        word = data[32 * i : 32 * i + 32]
        if typ == "bytes32":
            out.append(word)
            continue
        if typ == "uint64":
            if word[:24] != _ZEROS[:24]:
                raise DataError(f"a uint64 with non-zero padding at {32 * i}")
            out.append(int.from_bytes(word[24:], "big"))
            continue
        if typ == "address":
            if word[:12] != _ZEROS[:12]:
                raise DataError(f"an address with non-zero padding at {32 * i}")
            out.append(checksum("0x" + word[12:].hex()))
            continue
        at = int.from_bytes(word, "big")
        if not head <= at < size:
            raise DataError(f"an invalid pointer at {32 * i}")
        tails.append((i, typ, at))
        out.append(None)
    for i, typ, at in tails:
        out[i] = safe_text(_bytes_at(data, at)) if typ == "string" else _strings_at(data, at)
    return out


@dataclass(frozen=True, slots=True)
class EventSpec:
    """One event of the ABI: its name, topic0, indexed and data fields."""

    name: str
    topic: bytes
    indexed: tuple[tuple[str, str], ...]
    data_names: tuple[str, ...]
    data_types: tuple[str, ...]

    @classmethod
    def of(cls, item: Mapping[str, Any]) -> EventSpec:
        sig = f"{item['name']}({','.join(i['type'] for i in item['inputs'])})"
        return cls(
            item["name"],
            keccak(text=sig),
            tuple((i["name"], i["type"]) for i in item["inputs"] if i["indexed"]),
            tuple(i["name"] for i in item["inputs"] if not i["indexed"]),
            tuple(i["type"] for i in item["inputs"] if not i["indexed"]),
        )

    def decode(self, topics: Any, data: bytes) -> dict[str, Any]:
        """The event's arguments by name. Raises (``ValueError`` and eth_abi's errors) on a log
        of the wrong shape."""
        if len(topics) != 1 + len(self.indexed):
            raise ValueError(f"{self.name} has {len(self.indexed)} indexed fields, the log {len(topics) - 1}")
        args: dict[str, Any] = {}
        for (name, typ), topic in zip(self.indexed, topics[1:], strict=True):
            args[name] = _topic(typ, bytes(topic))
        args.update(zip(self.data_names, decode_data(self.data_types, bytes(data)), strict=True))
        return args


def event_specs(abi: list[dict[str, Any]]) -> dict[bytes, EventSpec]:
    """topic0 -> spec, for every event of ``abi``."""
    specs = (EventSpec.of(item) for item in abi if item.get("type") == "event")
    return {spec.topic: spec for spec in specs}


def decode_log(specs: Mapping[bytes, EventSpec], raw: Mapping[str, Any]) -> dict[str, Any] | None:
    """One raw log (as ``eth_getLogs`` returns it) decoded, or ``None`` when its topic0 names no
    event of ``specs``. Raises when the log names a known event but does not decode as one."""
    topics = raw["topics"]
    spec = specs.get(bytes(topics[0])) if topics else None
    if spec is None:
        return None
    return {
        "event": spec.name,
        "args": spec.decode(topics, bytes(raw["data"])),
        "blockNumber": int(raw["blockNumber"]),
        "logIndex": int(raw["logIndex"]),
        "transactionHash": "0x" + bytes(raw["transactionHash"]).hex(),
    }
