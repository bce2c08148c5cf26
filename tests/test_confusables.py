"""registry.confusables: which existing names a new or searched-for name could pass for.

Look-alike characters are written as escapes so the test source itself stays unambiguous:
``\\u0435`` is CYRILLIC SMALL LETTER IE, ``\\u043e`` CYRILLIC O, ``\\u0440`` CYRILLIC ER,
``\\u03bf`` GREEK OMICRON, ``\\u03b1`` GREEK ALPHA, ``\\u200d`` ZERO WIDTH JOINER.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from registry import confusables as cf
from registry.confusables import AFFIXES, REASONS, ConfusableIndex, Confusion, find_confusions, skeleton


def fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) for c in text)


# --- what is flagged, and why ---------------------------------------------------------------

FLAGGED = [
    # ENSIP-15: case, full width, characters ENS ignores
    ("DeepSeek", "deepseek", "ens-normalization"),
    ("DEEPSEEK", "deepseek", "ens-normalization"),
    (fullwidth("deepseek"), "deepseek", "ens-normalization"),
    ("deep\u200bseek", "deepseek", "ens-normalization"),  # zero-width space: ignored by ENS
    ("deep\u00adseek", "deepseek", "ens-normalization"),  # soft hyphen: ignored by ENS
    ("Deep_Seek", "deep_seek", "ens-normalization"),  # ENS rejects both ('_' inside), same mapping
    # UTS #39 skeleton: homoglyphs from other scripts, invisible characters
    ("d\u0435\u0435pseek", "deepseek", "unicode-skeleton"),  # Cyrillic e, e (ENS rejects: mixed scripts)
    ("\u043e\u0440\u0435nai", "openai", "unicode-skeleton"),  # Cyrillic o, r (looks like p), e
    ("\u03bfpen\u03b1i", "openai", "unicode-skeleton"),  # Greek omicron, alpha
    ("deep\u200dseek", "deepseek", "unicode-skeleton"),  # zero-width joiner (ENS rejects it)
    ("D\u0415EPSEEK", "deepseek", "unicode-skeleton"),  # upper-case Cyrillic E
    # ASCII look-alikes
    ("deeps3ek", "deepseek", "ascii-lookalike"),
    ("0penai", "openai", "ascii-lookalike"),
    ("1lama", "llama", "ascii-lookalike"),
    ("Ilama", "llama", "ascii-lookalike"),  # capital I for l
    ("rnistral", "mistral", "ascii-lookalike"),
    ("vvizard", "wizard", "ascii-lookalike"),
    ("ciaude", "claude", "ascii-lookalike"),
    ("dlp", "clip", "ascii-lookalike"),  # cl for d, and the reverse
    ("m1stra1", "mistral", "ascii-lookalike"),
    ("9wen", "qwen", "ascii-lookalike"),
    ("6pt", "gpt", "ascii-lookalike"),
    ("8loom", "bloom", "ascii-lookalike"),
    ("gpt-40", "gpt-4o", "ascii-lookalike"),
    ("\u043epen41", "openai", "ascii-lookalike"),  # Cyrillic o plus ASCII digits
    # separators
    ("deep-seek", "deepseek", "separator"),
    ("deep.seek", "deepseek", "separator"),
    ("deep_seek", "deepseek", "separator"),
    ("deep seek", "deepseek", "separator"),
    ("deep-s3ek", "deepseek", "separator"),  # separator and look-alike together
    ("deepseekai", "deepseek-ai", "separator"),
    # affix words
    ("deepseek-official", "deepseek", "affix"),
    ("official-deepseek", "deepseek", "affix"),
    ("deepseek-ai", "deepseek", "affix"),
    ("deepseekai", "deepseek", "affix"),
    ("real-deepseek", "deepseek", "affix"),
    ("deepseek-app", "deepseek", "affix"),
    ("deepseek-chat", "deepseek", "affix"),
    ("the-real-deepseek-official", "deepseek", "affix"),
    ("deepseek-0fficial", "deepseek", "affix"),  # the affix word itself disguised
    ("deepseek-chat", "deepseek-ai", "affix"),  # both are the core plus a word
    ("deepseek", "deepseek-ai", "affix"),  # the existing name is the one with the word
    ("mistral", "mistralai", "affix"),
    ("qwen-chat", "qwen", "affix"),  # separated words may leave a short core
    (fullwidth("deepseek") + "-ai", "deepseek", "affix"),
    # one edit, names of 5 or more characters
    ("deepsek", "deepseek", "edit-distance"),
    ("deepseeek", "deepseek", "edit-distance"),
    ("depseek", "deepseek", "edit-distance"),
    ("deespeek", "deepseek", "edit-distance"),
    ("dee9seek", "deepseek", "edit-distance"),  # 9 is not a look-alike of p: one substitution
    ("d\u0435epsek", "deepseek", "edit-distance"),  # a homoglyph and a typo
    ("openai-x", "openai", "edit-distance"),  # x is no affix word
]


@pytest.mark.parametrize(("name", "existing", "reason"), FLAGGED)
def test_flagged(name: str, existing: str, reason: str) -> None:
    [found] = find_confusions(name, [existing])
    assert (found.name, found.existing, found.reason) == (name, existing, reason)
    assert name in found.detail
    assert existing in found.detail


@pytest.mark.parametrize(
    ("name", "existing", "words"),
    [
        ("deeps3ek", "deepseek", "(3 -> e)"),
        ("0penai", "openai", "(0 -> o)"),
        ("rnistral", "mistral", "(rn -> m)"),
        ("9wen", "qwen", "(9 -> q)"),
        ("d\u0435\u0435pseek", "deepseek", "U+0435 CYRILLIC SMALL LETTER IE) -> e"),
        ("deep\u200dseek", "deepseek", "extra U+200D ZERO WIDTH JOINER"),
        ("deep seek", "deepseek", "extra U+0020 SPACE"),
        ("deep_seek", "deepseek", "extra _"),
        ("deepseek-official", "deepseek", "with 'official' added"),
        ("deepseek-chat", "deepseek-ai", "both 'deepseek' plus a word ('chat' vs 'ai')"),
        ("deepsek", "deepseek", "(missing e)"),
        ("deepseeek", "deepseek", "(extra e)"),
        ("deespeek", "deepseek", "(sp -> ps)"),
        ("dee9seek", "deepseek", "(9 -> p)"),
        (fullwidth("deepseek"), "deepseek", "both normalise to 'deepseek' (ENSIP-15)"),
        ("Deep_Seek", "deep_seek", "ENS rejects 'Deep_Seek'"),
    ],
)
def test_detail_says_what_differs(name: str, existing: str, words: str) -> None:
    [found] = find_confusions(name, [existing])
    assert words in found.detail


NOT_FLAGGED = [
    ("smollm", "llama"),
    ("acme", "acne"),  # short names: no edit distance
    ("qwen", "gwen"),  # b, g and q are different letters; only 6, 8, 9 stand for them
    ("bert", "gert"),
    ("yi-6b", "yi-9b"),  # two different digits never look alike
    ("yi-6b", "yi-8b"),
    ("qwen2-7b", "qwen2-8b"),  # version numbers differ, not look-alikes
    ("llama-3-70b", "llama-3-7b"),
    ("gpt-45", "gpt-54"),
    ("open", "openai"),  # 'ai' glued on leaves only 4 characters: not an affix
    ("prompt", "mpt"),  # 'pro' glued on leaves only 3
    ("deepseek-coder", "deepseek-math"),  # different words, not affixes
    ("anthropic", "openai"),
    ("-", "."),  # nothing readable on either side
    ("\u200b", ""),
]


@pytest.mark.parametrize(("name", "existing"), NOT_FLAGGED)
def test_not_flagged(name: str, existing: str) -> None:
    assert find_confusions(name, [existing]) == []
    assert find_confusions(existing, [name]) == []


@pytest.mark.parametrize("name", ["deepseek", "DeepSeek", "d\u0435\u0435pseek", "deep_seek", "", "deep\u200dseek"])
def test_a_name_is_never_confusable_with_itself(name: str) -> None:
    assert find_confusions(name, [name, name]) == []
    assert ConfusableIndex([name]).check(name) == []


def test_one_confusion_per_existing_name_most_serious_first() -> None:
    existing = ["deepsek", "deepseek-ai", "deep-seek", "deepseek", "llama", "deepseek", "deeps3ek"]
    found = find_confusions("DeepSeek", existing)
    assert [(c.existing, c.reason) for c in found] == [
        ("deepseek", "ens-normalization"),
        ("deeps3ek", "ascii-lookalike"),
        ("deep-seek", "separator"),
        ("deepseek-ai", "affix"),
        ("deepsek", "edit-distance"),
    ]
    assert [c.reason for c in found] == sorted((c.reason for c in found), key=REASONS.index)


def test_confusion_is_a_frozen_value() -> None:
    found = Confusion("deep-seek", "deepseek", "separator", "x")
    with pytest.raises(AttributeError):
        found.reason = "affix"  # type: ignore[misc]
    assert found == Confusion("deep-seek", "deepseek", "separator", "x")


# --- the skeleton ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "deepseek",
        "DeepSeek",
        "deep-seek",
        "deep.seek",
        "Deep_Seek",
        "deeps3ek",
        fullwidth("deepseek"),
        "d\u0435\u0435pseek",
        "deep\u200dseek",
        "DEEP SEEK",
    ],
)
def test_skeleton_of_deepseek_lookalikes(name: str) -> None:
    assert skeleton(name) == "deepseek"


def test_skeleton_folds_ascii_lookalikes_to_one_spelling() -> None:
    assert skeleton("rnistral") == skeleton("mistral") == skeleton("m1stra1")
    assert skeleton("vvizard") == skeleton("wizard")
    assert skeleton("vw") == skeleton("wv") == skeleton("vvv")
    assert skeleton("0penai") == skeleton("openai")


def test_skeleton_keeps_ambiguous_digits() -> None:
    # 6, 8, 9 each look like more than one letter, so the key keeps them; the rules still match them.
    assert skeleton("9wen") == "9wen"
    assert find_confusions("9wen", ["qwen", "gwen"]) != []


@given(st.text(max_size=80))
@settings(deadline=None)
def test_any_text_is_handled(text: str) -> None:
    key = skeleton(text)
    assert isinstance(key, str)
    for found in find_confusions(text, ["deepseek", "openai", text, key or "x"]):
        assert found.reason in REASONS
        assert found.existing != text


def test_long_queries_skip_affix_and_edit_rules() -> None:
    query = "the-" * 5000 + "deepseek"
    assert find_confusions(query, ["deepseek", "the-deepseek"]) == []
    assert find_confusions("x" * 65, ["x" * 64]) == []
    assert [c.reason for c in find_confusions("x" * 64, ["x" * 63])] == ["edit-distance"]


def test_affix_list_is_lower_case_ascii_words() -> None:
    assert {"official", "real", "ai", "app", "chat", "gpt", "verified", "the", "my", "get"} <= AFFIXES
    assert all(word.isascii() and word.isalpha() and word.islower() for word in AFFIXES)


# --- the index ------------------------------------------------------------------------------

BASES = ["deepseek", "openai", "qwen", "llama", "mistral", "claude", "bloom", "gpt", "yi-6b", "smollm"]
ALPHABET = "abcdegilmnopqrsvw0135689-._ DI\u0435\u043e\u200d"


def _one_edit(base: str, data: st.DataObject) -> str:
    i = data.draw(st.integers(0, len(base)))
    ch = data.draw(st.sampled_from("aelos39-"))
    op = data.draw(st.sampled_from(["insert", "delete", "replace", "swap"]))
    if op == "insert":
        return base[:i] + ch + base[i:]
    if op == "delete" and i < len(base):
        return base[:i] + base[i + 1 :]
    if op == "replace" and i < len(base):
        return base[:i] + ch + base[i + 1 :]
    if op == "swap" and i + 1 < len(base):
        return base[:i] + base[i + 1] + base[i] + base[i + 2 :]
    return base


_DISGUISES: list[Callable[[str], str]] = [
    str.upper,
    str.title,
    fullwidth,
    lambda s: s.replace("e", "\u0435"),
    lambda s: s.replace("o", "\u043e", 1),
    lambda s: s[:2] + "\u200d" + s[2:],
    lambda s: s[:3] + "\u200b" + s[3:],
    lambda s: s.replace("o", "0"),
    lambda s: s.replace("l", "1").replace("e", "3"),
    lambda s: s.replace("m", "rn").replace("w", "vv").replace("cl", "d"),
    lambda s: s.replace("g", "9").replace("q", "9").replace("b", "8"),
    lambda s: s[:3] + "-" + s[3:],
]


def _disguise(base: str, data: st.DataObject) -> str:
    for disguise in data.draw(st.lists(st.sampled_from(_DISGUISES), min_size=1, max_size=3)):
        base = disguise(base)
    return base


@st.composite
def confusable_names(draw: st.DrawFn) -> list[str]:
    """A set of names, many of them look-alikes of each other."""
    data = draw(st.data())
    names: list[str] = []
    for _ in range(draw(st.integers(1, 20))):
        base = draw(st.sampled_from(BASES))
        kind = draw(st.sampled_from(["base", "random", "disguise", "affix", "glued", "edit", "edit-affix"]))
        if kind == "base":
            names.append(base)
        elif kind == "disguise":
            names.append(_disguise(base, data))
        elif kind == "random":
            names.append(draw(st.text(ALPHABET, min_size=1, max_size=10)))
        elif kind == "affix":
            word = draw(st.sampled_from(sorted(AFFIXES)))
            sep = draw(st.sampled_from(["-", ".", "_"]))
            names.append(f"{word}{sep}{base}" if draw(st.booleans()) else f"{base}{sep}{word}")
        elif kind == "glued":
            names.append(base + draw(st.sampled_from(["ai", "app", "official", "pro"])))
        elif kind == "edit":
            names.append(_one_edit(base, data))
        else:
            names.append(_one_edit(base, data) + "-" + draw(st.sampled_from(["ai", "chat", "official"])))
    return list(dict.fromkeys(names))


@given(confusable_names(), st.text(ALPHABET, max_size=12))
@settings(deadline=None, max_examples=200)
def test_index_agrees_with_find_confusions(names: list[str], extra: str) -> None:
    index = ConfusableIndex(names)
    for query in [*names, extra, *BASES]:
        assert index.check(query) == find_confusions(query, names)


def test_index_answer_does_not_depend_on_insertion_order() -> None:
    names = ["deepseek", "deep-seek", "deepseek-ai", "deepsek", "openai", "0penai", "qwen", "9wen"]
    forward, backward = ConfusableIndex(names), ConfusableIndex(reversed(names))
    for query in [*names, "DeepSeek", "deeps3ek"]:
        assert forward.check(query) == backward.check(query) == find_confusions(query, names)
    assert forward.check("deeps3ek") != []


def test_index_counts_distinct_names() -> None:
    index = ConfusableIndex(["deepseek", "deepseek"])
    index.add("deepseek")
    index.add("deep-seek")
    assert len(index) == 2
    assert [c.existing for c in index.check("deeps3ek")] == ["deepseek", "deep-seek"]


def _counting(monkeypatch: pytest.MonkeyPatch, attribute: str) -> list[int]:
    """Replace ``registry.confusables.<attribute>`` by a wrapper that counts its calls."""
    calls = [0]
    original: Callable[..., object] = getattr(cf, attribute)

    def wrapper(*args: object) -> object:
        calls[0] += 1
        return original(*args)

    monkeypatch.setattr(cf, attribute, wrapper)
    return calls


def test_check_on_a_large_index_is_a_lookup_not_a_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    """Structure, not timing: each name is analysed once, and a check compares only a few candidates."""
    rng = random.Random(20240601)
    known = {"deepseek", "deepseek-ai", "openai", "qwen"}
    names = set(known)
    while len(names) < 10_000:
        names.add("".join(rng.choices(string.ascii_lowercase + string.digits + "-", k=rng.randint(5, 14))).strip("-"))
    analysed = _counting(monkeypatch, "_analyse")
    index = ConfusableIndex(sorted(names))
    assert len(index) == len(names) == analysed[0]  # built once: one analysis per name

    compared = _counting(monkeypatch, "_compare")
    for query, expected in [
        ("deeps3ek", {"deepseek", "deepseek-ai"}),
        ("deepseek-official", {"deepseek", "deepseek-ai"}),
        ("deepsek", {"deepseek"}),
        ("0penai", {"openai"}),
        ("9wen", {"qwen"}),
    ]:
        before_analysed, before_compared = analysed[0], compared[0]
        found = index.check(query)
        assert analysed[0] - before_analysed == 1  # only the query is analysed
        assert len(expected) <= compared[0] - before_compared <= 50  # bucket candidates, not 10,000 names
        assert expected <= {c.existing for c in found}

    assert index.check("deeps3ek") == find_confusions("deeps3ek", names)
