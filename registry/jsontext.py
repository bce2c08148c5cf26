"""Untrusted JSON, parsed within limits: the one way modelseal reads a JSON document it did not write.

Python's ``json`` recurses once per nesting level, guarded only by the interpreter's recursion
limit; importing web3 (py_ecc) raises that limit to 100,000, so a body nested 100,000 levels deep
(200 KB) overflows the C stack and kills the process before any ``RecursionError``. :func:`loads`
therefore measures the nesting depth first, with a flat scan that does not recurse, and refuses
before parsing:

* more than ``max_bytes`` bytes, or text that is not UTF-8;
* nesting deeper than ``max_depth`` (64 by default: modelseal's own documents nest 5 levels);
* ``NaN``, ``Infinity``, numbers that overflow a float (``1e999``), integers of more than 4,300
  digits (Python's own cap);
* strings holding a lone surrogate (``"\\ud800"``): they cannot be written back as UTF-8;
* an object with the same member twice: two readers could take different values.

Every refusal is the caller's domain error (``error=``), an :class:`~registry.errors.InputError`
or :class:`~registry.errors.VerificationError` family, so the CLI prints one line and the API
answers with problem details.
"""

from __future__ import annotations

import json
import math
import re
from itertools import accumulate
from typing import Any

from registry.errors import InputError, ModelsealError

MAX_DEPTH = 64
MAX_BYTES = 1 << 20
"""Default size cap: 1 MiB (a manifest with a few hundred files and proofs is under 200 KB)."""

# A string token, or an unterminated one to the end of the input; possessive, so every `"` is tried
# once and the scan stays linear (a body of 2 million `\"` would otherwise take hours).
_STRING = re.compile(rb'"(?:[^"\\]|\\(?:.|\Z))*+(?:"|\Z)', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")
_DELTA = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


class JSONRefused(InputError):
    """The text is not JSON modelseal accepts (size, depth, numbers, strings, duplicate members)."""


def depth(data: bytes) -> int:
    """The deepest nesting of ``[``/``{`` in ``data``, brackets inside strings not counted.

    A flat scan (two regular expressions and a running sum), so it cannot overflow any stack. For
    valid JSON it is exact; for text that is not, it is at least the depth a parser reaches before
    it finds the error, so it is safe as a guard in front of one."""
    outside = _STRING.sub(b"", data)
    steps = (_DELTA[m[0]] for m in _BRACKET.findall(outside))
    return max(accumulate(steps), default=0)


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:40]} does not fit a 64-bit float")
    return value


def _members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"member {key[:80]!r} appears twice in one object")
        out[key] = value
    return out


def _check_strings(value: Any) -> None:
    """Refuse lone surrogates anywhere (keys and values); iterative, the depth is already bounded."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            item.encode("utf-8")  # UnicodeEncodeError on a lone surrogate
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def loads(
    data: str | bytes,
    *,
    what: str = "document",
    error: type[ModelsealError] = JSONRefused,
    max_bytes: int = MAX_BYTES,
    max_depth: int = MAX_DEPTH,
) -> Any:
    """Parse untrusted JSON ``data`` within the limits above; any refusal is ``error`` naming ``what``."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
    if len(raw) > max_bytes:
        raise error(f"{what} is {len(raw):,} bytes, over the limit of {max_bytes:,}", hint="send a smaller document")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{what} is not UTF-8 (byte {exc.start})") from None
    nesting = depth(raw)
    if nesting > max_depth:
        raise error(f"{what} nests {nesting} levels deep, over the limit of {max_depth}")
    try:
        doc = json.loads(text, parse_constant=_constant, parse_float=_float, object_pairs_hook=_members)
        _check_strings(doc)
    except UnicodeEncodeError:
        raise error(f"{what} holds a string with a lone UTF-16 surrogate") from None
    except ValueError as exc:  # JSONDecodeError, our hooks, and int() past 4,300 digits
        raise error(f"{what} is not valid JSON: {str(exc)[:200]}") from None
    return doc
