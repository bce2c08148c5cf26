"""The registry's events, decoded from raw logs: the one decoder of the CLI client and the indexer.

Everything an event carries is untrusted input: a registry before 1.3 let a revocation reason be
any bytes (a NUL, invalid UTF-8, megabytes), and a log of the registry's address is only as well
formed as the code that emitted it. So strings are decoded as bytes and kept as safe text
(:func:`safe_text`), and a log that does not decode raises for the caller to record and pass over
- it never stops a reader. Decoding uses eth_abi directly: web3's log processing costs about 50
times more per log, which dominates an index catch-up.

:class:`EventSpec` decodes one event of the ABI; :func:`event_specs` maps topic0 to the specs of an
ABI; :func:`decode_log` turns one raw log into ``{"event", "args", "blockNumber", "logIndex",
"transactionHash"}`` (or ``None`` for a log of no known event).
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
        values = abi_decode([_AS_BYTES.get(t, t) for t in self.data_types], bytes(data), strict=True)
        for name, typ, value in zip(self.data_names, self.data_types, values, strict=True):
            args[name] = _norm(typ, value)
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
