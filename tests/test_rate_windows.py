"""verifier.limits.Windows: the verifier's sliding-window counters, held to the ``limits``
library's sliding window counter (the second implementation) on the same clock, and bounded."""

from __future__ import annotations

import math
import types
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import SlidingWindowCounterRateLimiter

from verifier.limits import Windows

START = 1_800_000_000.0


class _Clock:
    def __init__(self) -> None:
        self.now = START

    def time(self) -> float:
        return self.now


@settings(max_examples=60, deadline=None)
@given(
    rate=st.sampled_from(["3/second", "5/minute", "10/minute", "2/hour"]),
    steps=st.lists(st.tuples(st.floats(0, 90), st.sampled_from(["a", "b"])), min_size=1, max_size=80),
)
def test_the_same_answers_as_the_limits_library(rate: str, steps: list[tuple[float, str]]) -> None:
    import limits.storage.memory as memory

    clock = _Clock()
    real_time = memory.time
    memory.time = types.SimpleNamespace(time=clock.time)  # type: ignore[assignment]
    storage = MemoryStorage()
    try:
        theirs = SlidingWindowCounterRateLimiter(storage)
        ours = Windows()
        item = parse(rate)
        for dt, key in steps:
            clock.now += dt
            assert ours.test(item, key, clock.now) == theirs.test(item, key), (clock.now, key)
            assert ours.hit(item, key, clock.now) == theirs.hit(item, key), (clock.now, key)
    finally:
        storage.timer.cancel()
        memory.time = real_time  # type: ignore[assignment]


def test_retry_after_is_when_the_next_request_is_counted() -> None:
    item = parse("3/minute")
    w = Windows()
    t = 60 * math.floor(START / 60)
    assert [w.hit(item, "k", t + i) for i in range(4)] == [True, True, True, False]
    wait = w.retry_after(item, "k", t + 4)
    assert wait == pytest.approx(56)  # the window's end: its 3 then decay in the next
    assert not w.hit(item, "k", t + 4 + wait - 0.5)
    assert w.hit(item, "k", t + 4 + wait + 0.01)
    # mid-window (one counted now, three in the window before): the previous window's share must
    # decay below 2 first, a third of the way in
    wait = w.retry_after(item, "k", t + 61)
    assert wait == pytest.approx(19)
    assert not w.hit(item, "k", t + 61 + wait - 0.5) and w.hit(item, "k", t + 61 + wait + 0.01)


def test_a_limit_of_nothing_refuses_everything() -> None:
    item = parse("0/minute")
    w = Windows()
    assert not w.hit(item, "k", START) and w.retry_after(item, "k", START) == 60


def test_the_keys_are_bounded_and_the_oldest_go_first() -> None:
    item = parse("5/minute")
    w = Windows(max_keys=100)
    for i in range(1000):
        assert w.hit(item, f"client:{i}", START)
    kept: dict[str, Any] = w._counts
    assert len(kept) <= 100 and "client:999" in kept and "client:0" not in kept


def test_retry_after_in_whole_seconds_is_never_on_the_boundary() -> None:
    from types import SimpleNamespace

    from verifier.limits import RateLimits

    limits = RateLimits(SimpleNamespace(rate_limit="3/minute", outbound_rate_limit="1/minute",
                                        target_rate_limit="1/minute"))  # type: ignore[arg-type]  # fmt: skip
    item = parse("3/minute")
    exact = 56.0  # a window's end falls on a whole second
    limits._windows.retry_after = lambda *_: exact  # type: ignore[method-assign]
    assert limits._retry_after(item, "k") == 57
    limits._windows.retry_after = lambda *_: 55.2  # type: ignore[method-assign]
    assert limits._retry_after(item, "k") == 56
