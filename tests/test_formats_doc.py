"""docs/formats.md cannot drift: its worked examples are recomputed with the code, and its on-chain
summary (§5) is compared with the compiled ``ModelRegistry`` ABI (names, types, indexed flags,
selectors and topics).

Every check first finds what it checks in the document and fails when it finds nothing, so a
reworded sentence cannot make a test pass silently.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import pytest
from conftest import REPO, VECTORS
from eth_utils.address import to_checksum_address

from registry.chain.artifacts import load_artifact
from registry.errors import ArtifactMissing
from registry.identity.protocol import check_origin, origin_of
from registry.names import (
    ReleaseName,
    check_namespace,
    did_id,
    keccak,
    model_id,
    namespace_id,
    release_id,
)
from registry.signing.keys import did_key_from_public, did_method

DOC = REPO / "docs" / "formats.md"
INTERFACE = REPO / "contracts" / "IModelRegistry.sol"
CONTRACT = REPO / "contracts" / "ModelRegistry.sol"

Param = tuple[str, str]
"""(ABI type, name) of a function or error argument, or of a struct field"""
EventField = tuple[str, str, bool]
"""(ABI type, name, indexed)"""


# --- reading the document ---------------------------------------------------------------------


@cache
def doc() -> str:
    return DOC.read_text(encoding="utf-8")


def section(number: str) -> str:
    """The text of ``## N.`` or ``### N.M`` up to the next heading of the same or a higher level."""
    level = "##" if "." not in number else "###"
    start = re.search(rf"^{level} {re.escape(number)}\.? .*$", doc(), re.M)
    assert start, f"docs/formats.md has no heading '{level} {number} ...'"
    stop = re.compile(rf"^#{{2,{len(level)}}} ", re.M).search(doc(), start.end())
    return doc()[start.start() : stop.start() if stop else len(doc())]


def table_rows(text: str) -> list[list[str]]:
    """The body rows of the Markdown tables in ``text`` (header and rule rows dropped), cells
    stripped, ``\\|`` unescaped."""
    rows: list[list[str]] = []
    header = True
    for line in text.splitlines():
        if not line.startswith("|"):
            header = True
            continue
        cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if all(re.fullmatch(r":?-+:?", c) for c in cells):
            continue
        if header:  # the first row of a table names its columns
            header = False
            continue
        rows.append(cells)
    return rows


def code(cell: str) -> str:
    """The one code span a cell must be (or begin with)."""
    m = re.match(r"`([^`]+)`", cell)
    assert m, f"expected a `code` cell, got {cell!r}"
    return m.group(1)


def split_top(text: str) -> list[str]:
    """Split a comma-separated list at depth 0 (struct field lists nest in parentheses)."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        if ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur.strip())
    return parts


def parse_call(text: str) -> tuple[str, list[Param]]:
    """``name(type a, type b)`` -> (name, [(type, a), (type, b)])."""
    m = re.fullmatch(r"(\w+)\((.*)\)", text)
    assert m, f"not name(type arg, ...): {text!r}"
    params = []
    for part in split_top(m.group(2)):
        words = part.split()
        assert len(words) == 2, f"argument {part!r} of {text!r} is not 'type name'"
        params.append((words[0], words[1]))
    return m.group(1), params


def parse_returns(text: str) -> list[tuple[str, list[Param]]]:
    """A ``returns`` cell: ``bool``, ``bytes32 nsId`` or ``Struct(type a, type b)``, as a list of
    (canonical type, struct fields)."""
    cell = code(text)
    struct = re.fullmatch(r"([A-Z]\w*)\((.*)\)", cell)
    if struct:
        fields = parse_call(f"s({struct.group(2)})")[1]
        return [("(" + ",".join(t for t, _ in fields) + ")", fields)]
    return [(part.split()[0], []) for part in split_top(cell)]


# --- reading the ABI ------------------------------------------------------------------------------


@cache
def abi() -> list[dict[str, Any]]:
    try:
        return load_artifact("ModelRegistry").abi
    except ArtifactMissing as e:
        pytest.fail(f"{e}: build the contracts first (`npx hardhat build`, part of `make test`)")


def canonical_type(item: dict[str, Any]) -> str:
    t = str(item["type"])
    if t.startswith("tuple"):
        return "(" + ",".join(canonical_type(c) for c in item["components"]) + ")" + t[len("tuple") :]
    return t


def abi_items(kind: str) -> dict[str, dict[str, Any]]:
    items = [i for i in abi() if i["type"] == kind]
    names = [i["name"] for i in items]
    assert len(names) == len(set(names)), f"overloaded {kind}s in the ABI: the document names them by name alone"
    return {i["name"]: i for i in items}


def signature(item: dict[str, Any]) -> str:
    return f"{item['name']}({','.join(canonical_type(i) for i in item['inputs'])})"


def abi_params(item: dict[str, Any]) -> list[Param]:
    return [(canonical_type(i), i["name"]) for i in item["inputs"]]


def hex_keccak(text: str) -> str:
    return "0x" + keccak(text.encode()).hex()


# --- every keccak example in the whole document --------------------------------------------------

_KECCAK_EXAMPLE = re.compile(
    r'keccak256\("(?P<pre>[^"`]*)"\)`?\s*=\s*`(?P<head>0x[0-9a-fA-F]+)(?:(?:…|\.\.\.)(?P<tail>[0-9a-fA-F]+))?`'
)


def _id_of(preimage: str) -> bytes:
    """The id the code computes for a preimage, through the same function the code uses for it."""
    if preimage.startswith("did:"):
        return did_id(preimage)
    parts = preimage.split("/")
    if len(parts) >= 3:
        return release_id(ReleaseName.parse(preimage))
    if len(parts) == 2:
        return model_id(parts[0], parts[1])
    try:
        return namespace_id(check_namespace(preimage))
    except Exception:  # not a namespace (an endorsement kind): plain keccak
        return keccak(preimage.encode())


def test_every_keccak_example_in_the_document_is_right() -> None:
    examples = list(_KECCAK_EXAMPLE.finditer(doc()))
    assert examples, 'no `keccak256("...")` = `0x...` example found in docs/formats.md: did the format change?'
    for m in examples:
        pre, head, tail = m.group("pre"), m.group("head").lower(), m.group("tail")
        full = "0x" + _id_of(pre).hex()
        assert full == hex_keccak(pre)
        if tail is None:
            assert head == full, f'keccak256("{pre}") is {full}, the document says {head}'
        else:
            assert len(head) >= 2 + 4 and len(tail) >= 4, f"abbreviation {m.group(0)!r} is too short to check"
            assert full.startswith(head) and full.endswith(tail.lower()), (
                f'keccak256("{pre}") is {full}, the document says {head}…{tail}'
            )


# --- §5 against the ABI -----------------------------------------------------------------------------


def doc_events() -> dict[str, list[EventField]]:
    events: dict[str, list[EventField]] = {}
    for row in table_rows(section("5.3")):
        if len(row) < 2 or not row[1].startswith("`"):
            continue
        fields: list[EventField] = []
        for part in split_top(code(row[1])):
            words = part.split()
            assert len(words) in (2, 3) and (len(words) == 2 or words[1] == "indexed"), (
                f"event {row[0]}: field {part!r} is not 'type [indexed] name'"
            )
            fields.append((words[0], words[-1], len(words) == 3))
        name = code(row[0])
        assert name not in events, f"event {name} is listed twice in §5.3"
        events[name] = fields
    assert events, "no event table found in §5.3"
    return events


def test_section_5_events_equal_the_abi() -> None:
    documented = doc_events()
    compiled = abi_items("event")
    assert set(documented) == set(compiled), (
        f"§5.3 events differ from the ABI: missing {sorted(set(compiled) - set(documented))}, "
        f"not in the contract {sorted(set(documented) - set(compiled))}"
    )
    for name, item in compiled.items():
        expected = [(canonical_type(i), i["name"], bool(i["indexed"])) for i in item["inputs"]]
        assert documented[name] == expected, (
            f"§5.3 event {name}: the document has {documented[name]}, the ABI {expected} (type, name, indexed)"
        )


def test_section_5_event_topics_are_the_abis() -> None:
    listed = re.findall(r"^- `(\w+\([^`]*\))`: `(0x[0-9a-fA-F]*)`", section("5.3"), re.M)
    assert listed, "no topic0 list (- `Event(types)`: `0x...`) found in §5.3"
    compiled = {signature(item): hex_keccak(signature(item)) for item in abi_items("event").values()}
    sigs = [sig for sig, _ in listed]
    assert sorted(sigs) == sorted(compiled), (
        f"§5.3 topic0 list differs from the ABI's events: missing {sorted(set(compiled) - set(sigs))}, "
        f"wrong or extra {sorted(set(sigs) - set(compiled))}"
    )
    for sig, topic in listed:
        assert len(topic) == 66, f"topic0 of {sig} must be written in full (0x + 64 hex), not {topic}"
        assert topic.lower() == compiled[sig], f"topic0 of {sig} is {compiled[sig]}, the document says {topic}"


def doc_errors() -> dict[str, tuple[list[Param], str]]:
    errors: dict[str, tuple[list[Param], str]] = {}
    for row in table_rows(section("5.4")):
        name, params = parse_call(code(row[0]))
        assert name not in errors, f"error {name} is listed twice in §5.4"
        errors[name] = (params, code(row[1]))
    assert errors, "no error table found in §5.4"
    return errors


def test_section_5_errors_equal_the_abi() -> None:
    documented = doc_errors()
    compiled = abi_items("error")
    assert set(documented) == set(compiled), (
        f"§5.4 errors differ from the ABI: missing {sorted(set(compiled) - set(documented))}, "
        f"not in the contract {sorted(set(documented) - set(compiled))}"
    )
    for name, item in compiled.items():
        assert documented[name][0] == abi_params(item), (
            f"§5.4 error {name}: the document has {documented[name][0]}, the ABI {abi_params(item)}"
        )


def test_section_5_error_selectors_are_the_abis() -> None:
    compiled = abi_items("error")
    for name, (_, selector) in doc_errors().items():
        if name not in compiled:
            continue  # reported by test_section_5_errors_equal_the_abi
        expected = hex_keccak(signature(compiled[name]))[:10]
        assert selector.lower() == expected, f"selector of {signature(compiled[name])} is {expected}, not {selector}"


def doc_reads() -> dict[str, tuple[list[Param], str, list[tuple[str, list[Param]]], str]]:
    reads: dict[str, tuple[list[Param], str, list[tuple[str, list[Param]]], str]] = {}
    for row in table_rows(section("5.6")):
        name, params = parse_call(code(row[0]))
        assert name not in reads, f"function {name} is listed twice in §5.6"
        reads[name] = (params, row[1], parse_returns(row[2]), code(row[3]))
    assert reads, "no read-function table found in §5.6"
    return reads


def doc_writes() -> dict[str, tuple[list[Param], str, str, str]]:
    """name -> (params, selector, returns cell, 'emits; reverts with' cell)"""
    writes: dict[str, tuple[list[Param], str, str, str]] = {}
    for row in table_rows(section("5.7")):
        name, params = parse_call(code(row[0]))
        assert name not in writes, f"function {name} is listed twice in §5.7"
        writes[name] = (params, code(row[1]), row[3], row[4])
    assert writes, "no write-function table found in §5.7"
    return writes


def abi_outputs(item: dict[str, Any]) -> list[tuple[str, list[Param]]]:
    return [
        (canonical_type(o), [(canonical_type(c), c["name"]) for c in o.get("components", [])]) for o in item["outputs"]
    ]


def test_section_5_read_functions_equal_the_abi() -> None:
    documented = doc_reads()
    compiled = {n: i for n, i in abi_items("function").items() if i["stateMutability"] in ("view", "pure")}
    assert set(documented) == set(compiled), (
        f"§5.6 read functions differ from the ABI's view/pure functions: missing "
        f"{sorted(set(compiled) - set(documented))}, "
        f"not view/pure in the contract {sorted(set(documented) - set(compiled))}"
    )
    for name, item in compiled.items():
        params, mutability, returns, _ = documented[name]
        assert params == abi_params(item), f"§5.6 {name}: arguments {params}, the ABI has {abi_params(item)}"
        assert mutability == item["stateMutability"], (
            f"§5.6 {name}: the document says {mutability}, the ABI {item['stateMutability']}"
        )
        assert returns == abi_outputs(item), f"§5.6 {name}: returns {returns}, the ABI has {abi_outputs(item)}"


def test_section_5_write_functions_equal_the_abi() -> None:
    documented = doc_writes()
    compiled = {n: i for n, i in abi_items("function").items() if i["stateMutability"] not in ("view", "pure")}
    assert set(documented) == set(compiled), (
        f"§5.7 write functions differ from the ABI's: missing {sorted(set(compiled) - set(documented))}, "
        f"not writes in the contract {sorted(set(documented) - set(compiled))}"
    )
    for name, item in compiled.items():
        params, _, returns, _ = documented[name]
        assert params == abi_params(item), f"§5.7 {name}: arguments {params}, the ABI has {abi_params(item)}"
        assert item["stateMutability"] == "nonpayable", f"{name} is {item['stateMutability']}: §5 says none is payable"
        expected = [(canonical_type(o), o["name"]) for o in item["outputs"]]
        written = [tuple(code(returns).split())] if returns else []
        assert written == expected, f"§5.7 {name}: returns {written}, the ABI has {expected} (type, name)"


def test_section_5_function_selectors_are_the_abis() -> None:
    compiled = abi_items("function")
    written = {n: r[3] for n, r in doc_reads().items()} | {n: w[1] for n, w in doc_writes().items()}
    for name, selector in written.items():
        if name not in compiled:
            continue  # reported by the read/write tests above
        expected = hex_keccak(signature(compiled[name]))[:10]
        assert selector.lower() == expected, f"selector of {signature(compiled[name])} is {expected}, not {selector}"


def test_section_5_writes_name_real_events_and_errors() -> None:
    events, errors = abi_items("event"), abi_items("error")
    for name, (_, _, _, outcome) in doc_writes().items():
        emits, sep, reverts = outcome.partition(";")
        assert sep, f"§5.7 {name}: 'emits; reverts with' cell has no ';': {outcome!r}"
        for event in re.findall(r"`(\w+)`", emits):
            assert event in events, f"§5.7 {name} emits {event}, which is not an event of the ABI"
        named = re.findall(r"`(\w+)`", reverts)
        assert named, f"§5.7 {name} names no error"
        for error in named:
            assert error in errors, f"§5.7 {name} reverts with {error}, which is not an error of the ABI"


# --- §5.5 NameKind ----------------------------------------------------------------------------------


def doc_name_kinds() -> list[tuple[int, str, list[str]]]:
    kinds = [(int(row[0]), code(row[1]), re.findall(r"`(\w+)`", row[2])) for row in table_rows(section("5.5"))]
    assert kinds, "no NameKind table found in §5.5"
    return kinds


def test_section_5_name_kinds_equal_the_enum() -> None:
    m = re.search(r"enum\s+NameKind\s*\{([^}]*)\}", INTERFACE.read_text())
    assert m, "no `enum NameKind {...}` in contracts/IModelRegistry.sol"
    members = re.findall(r"^\s*(\w+)", re.sub(r"//[^\n]*", "", m.group(1)).replace(",", "\n"), re.M)
    documented = [(kind, member) for kind, member, _ in doc_name_kinds()]
    assert documented == list(enumerate(members)), f"§5.5 lists {documented}, the contract's NameKind is {members}"
    (kind_arg,) = [i for i in abi_items("error")["InvalidName"]["inputs"] if i["name"] == "kind"]
    assert kind_arg["internalType"] == "enum IModelRegistry.NameKind" and kind_arg["type"] == "uint8"


def test_section_5_name_kinds_are_checked_where_the_writes_say() -> None:
    """§5.5's 'checked by' column and the InvalidName (k) of §5.7 tell the same story."""
    from_writes: dict[int, set[str]] = {}
    for name, (_, _, _, outcome) in doc_writes().items():
        for kinds in re.findall(r"`InvalidName` \(([\d, ]+)\)", outcome):
            for k in kinds.split(","):
                from_writes.setdefault(int(k), set()).add(name)
    functions = abi_items("function")
    for kind, member, checked_by in doc_name_kinds():
        callers = {f for f in checked_by if f in functions}
        assert callers, f"§5.5 kind {kind} ({member}) names no function of the ABI that checks it"
        assert callers == from_writes.get(kind, set()), (
            f"kind {kind} ({member}): §5.5 says checked by {sorted(callers)}, "
            f"§5.7 lists InvalidName ({kind}) for {sorted(from_writes.get(kind, set()))}"
        )


def test_section_5_heading_version_is_the_contracts() -> None:
    heading = re.search(r"^## 5\. On chain: `ModelRegistry` (\d+\.\d+\.\d+)", doc(), re.M)
    assert heading, "§5 heading does not give the ModelRegistry version"
    source = re.search(r'function version\(\)[^{]*\{\s*return "([^"]+)";', CONTRACT.read_text())
    assert source, 'no `return "x.y.z"` in ModelRegistry.version()'
    assert heading.group(1) == source.group(1), f"§5 says {heading.group(1)}, version() returns {source.group(1)}"
    assert f'`"{source.group(1)}"`' in section("5.6"), "§5.6 does not give version()'s value"


# --- other computable examples ------------------------------------------------------------------


def test_every_origin_example_is_what_origin_of_gives() -> None:
    examples = re.findall(r"`(https?://[^`\s]+)`\s*→\s*`([^`]+)`", doc(), re.I)
    assert examples, "no `URL` → `origin` example found in docs/formats.md"
    for url, origin in examples:
        assert origin_of(url) == origin, f"origin_of({url!r}) is {origin_of(url)!r}, the document says {origin!r}"


def test_origins_in_json_examples_are_canonical() -> None:
    lists = re.findall(r'"origins":\s*\[([^\]]*)\]', doc())
    origins = [o for body in lists for o in re.findall(r'"([^"]+)"', body)]
    assert origins, 'no "origins": [...] example found in docs/formats.md'
    for origin in origins:
        assert check_origin(origin) == origin, f"{origin!r} in an example is not a canonical origin"


def _edge_did_keys() -> list[str]:
    vectors = json.loads((VECTORS / "did-key-ed25519.json").read_text())["vectors"]
    return [did_key_from_public(bytes([b]) * 32) for b in (0x00, 0xFF)] + [v["did"] for v in vectors]


def test_did_key_prefix_and_length_as_written() -> None:
    prefixes = re.findall(r"starts? with `(did:key:[^`]+)`", doc())
    lengths = [int(n) for n in re.findall(r"`did:key:z` \+ (\d+) base58btc characters", doc())]
    assert prefixes, "no 'starts with `did:key:...`' statement found in docs/formats.md"
    assert lengths, "no '`did:key:z` + N base58btc characters' statement found in docs/formats.md"
    for did in _edge_did_keys():
        for prefix in prefixes:
            assert did.startswith(prefix), f"{did} does not start with {prefix}, as the document says"
        for n in lengths:
            assert len(did) == len("did:key:z") + n, f"{did} has {len(did) - 9} base58btc characters, not {n}"


def test_dids_written_in_full_in_section_5_are_canonical() -> None:
    text = section("5")
    keys = re.findall(r"did:key:z[1-9A-HJ-NP-Za-km-z]{40,}", text)
    pkhs = re.findall(r"did:pkh:eip155:(\d+):(0x[0-9a-fA-F]{40})\b", text)
    assert keys and pkhs, "§5 has no full did:key and did:pkh example"
    for did in keys:
        assert did_method(did) == "key", f"{did} in §5 is not a valid did:key"
        assert len(did) == 56, f"{did} in §5 is not 56 characters"
    for chain, address in pkhs:
        did = f"did:pkh:eip155:{chain}:{address}"
        assert did_method(did) == "pkh", f"{did} in §5 is not a valid did:pkh"
        assert not chain.startswith("0") and 1 <= int(chain) < 2**64, f"{did}: chain id outside 1..2^64-1"
        assert address == to_checksum_address(address), f"{did}: the address is not in EIP-55 case"
