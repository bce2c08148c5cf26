"""registry.confusables.ConfusableIndex on names that differ in digits: same answers, few comparisons.

An indexer feeds every claimed namespace to the index (:meth:`ConfusableIndex.check_and_add`).
Names that differ only in digits (``lab-00017``, ``lab-00018``) are never edit-distance
confusions, so the index need not compare them: a chain of such names must cost a lookup per
claim, not a comparison with every earlier name, and the answers must stay those of
:func:`find_confusions`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
from ens_normalize import ens_normalize
from hypothesis import given, settings
from hypothesis import strategies as st

from registry import confusables as cf
from registry.confusables import ConfusableIndex, find_confusions

# letters that take part in the look-alike rules, every digit, separators, a homoglyph
DIGIT_HEAVY = "0123456789" * 3 + "abdgilmnoqrstvw-._\u0435"


@st.composite
def digit_names(draw: st.DrawFn) -> list[str]:
    """Names built from a few stems by changing, adding, removing and swapping digits and letters."""
    stems = draw(st.lists(st.text(DIGIT_HEAVY, min_size=1, max_size=12), min_size=1, max_size=4))
    names: list[str] = list(stems)
    for _ in range(draw(st.integers(0, 25))):
        name = list(draw(st.sampled_from(names)))
        for _ in range(draw(st.integers(1, 2))):
            kind = draw(st.sampled_from(["change", "insert", "delete", "swap"]))
            at = draw(st.integers(0, max(len(name) - 1, 0)))
            char = draw(st.sampled_from(DIGIT_HEAVY))
            if kind == "change" and name:
                name[at] = char
            elif kind == "insert":
                name.insert(at, char)
            elif kind == "delete" and len(name) > 1:
                del name[at]
            elif kind == "swap" and len(name) > at + 1:
                name[at], name[at + 1] = name[at + 1], name[at]
        names.append("".join(name))
    return list(dict.fromkeys(names))


@given(digit_names(), st.text(DIGIT_HEAVY, max_size=12))
@settings(deadline=None, max_examples=400)
def test_index_agrees_with_find_confusions_on_names_that_differ_in_digits(names: list[str], extra: str) -> None:
    index = ConfusableIndex(names)
    for query in [*names, extra]:
        assert index.check(query) == find_confusions(query, names)


@given(digit_names())
@settings(deadline=None, max_examples=200)
def test_check_and_add_is_check_then_add(names: list[str]) -> None:
    index, reference = ConfusableIndex(), ConfusableIndex()
    for name in [*names, *names[:3]]:  # some names claimed twice
        expected = reference.check(name)
        reference.add(name)
        assert index.check_and_add(name) == expected
    assert index.names == reference.names
    assert [index.standing(n) for n in names] == [reference.standing(n) for n in names]


def _counting(monkeypatch: pytest.MonkeyPatch, attribute: str) -> list[int]:
    calls = [0]
    original: Callable[..., object] = getattr(cf, attribute)

    def wrapper(*args: object) -> object:
        calls[0] += 1
        return original(*args)

    monkeypatch.setattr(cf, attribute, wrapper)
    return calls


def test_names_that_differ_in_digits_are_not_compared(monkeypatch: pytest.MonkeyPatch) -> None:
    """Structure, not timing: 3,000 claims of lab-00000, lab-00001, ... analyse each name once and
    compare a handful of candidates each (those whose digits read as the same letters), never
    every earlier name."""
    analysed = _counting(monkeypatch, "_analyse")
    compared = _counting(monkeypatch, "_compare")
    index = ConfusableIndex()
    worst = 0
    for i in range(3000):
        before = compared[0]
        index.check_and_add(f"lab-{i:05d}")
        worst = max(worst, compared[0] - before)
    assert analysed[0] == 3000
    assert compared[0] < 3000 * 10, compared[0]
    assert worst <= 40, worst
    # a real look-alike is still found among them
    assert [c.existing for c in index.check_and_add("lab-0OO17")] == ["lab-00017"]
    assert [c.reason for c in index.check("lab-00017x")] == ["edit-distance"]


@given(st.from_regex(r"[a-z0-9]{1,6}(-[a-z0-9]{1,6}){0,4}", fullmatch=True))
@settings(max_examples=500)
def test_plain_names_are_what_ens_normalize_keeps(name: str) -> None:
    """The shortcut of the analysis: a name of lower-case words and digits joined by single hyphens
    is its own ENSIP-15 normalisation, as ens_normalize says."""
    assert cf._ENS_PLAIN.fullmatch(name)
    assert ens_normalize(name) == name


@pytest.mark.parametrize("name", ["ab--cd", "xn--abc", "-abc", "abc-", "a_b", "Abc", "a.b", "a b", "\u0435ab", ""])
def test_names_outside_the_shortcut_go_through_ens(name: str) -> None:
    assert not cf._ENS_PLAIN.fullmatch(name)


def test_every_short_name_of_the_shortcut_is_kept_by_ens() -> None:
    names = ("".join(chars) for n in range(1, 8) for chars in itertools.product("a0-", repeat=n))
    plain = [name for name in names if cf._ENS_PLAIN.fullmatch(name)]
    assert len(plain) > 1000
    assert all(ens_normalize(name) == name for name in plain)
