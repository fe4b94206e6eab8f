"""The bounded, locked LRU memo (`pixserve.cache.lru`) the hit path's memos share."""

from __future__ import annotations

import sys
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pixserve.cache.lru import LRU


def test_it_holds_at_most_its_size_and_forgets_the_least_recent() -> None:
    lru: LRU[str, int] = LRU(3)
    for n, key in enumerate("abcd"):
        lru.put(key, n)
    assert len(lru) == 3 and lru.get("a") is None
    assert lru.keys() == ["b", "c", "d"]


def test_a_get_makes_a_value_the_most_recent() -> None:
    lru: LRU[str, int] = LRU(3)
    for n, key in enumerate("abc"):
        lru.put(key, n)
    assert lru.get("a") == 0  # now the most recent: "b" goes first
    lru.put("d", 3)
    assert lru.keys() == ["c", "a", "d"] and "b" not in lru


def test_a_put_of_a_known_key_replaces_it_and_makes_it_the_most_recent() -> None:
    lru: LRU[str, int] = LRU(2)
    lru.put("a", 0)
    lru.put("b", 1)
    lru.put("a", 2)
    lru.put("c", 3)
    assert lru.keys() == ["a", "c"] and lru.get("a") == 2


def test_a_pop_with_a_value_leaves_what_another_thread_put_since() -> None:
    lru: LRU[str, object] = LRU(2)
    old, new = object(), object()
    lru.put("a", old)
    lru.put("a", new)
    lru.pop("a", old)  # a stale check of the old value must not drop the new one
    assert lru.get("a") is new
    lru.pop("a", new)
    assert "a" not in lru
    lru.pop("missing")  # nothing to forget: no error


def test_a_size_below_one_is_refused() -> None:
    with pytest.raises(ValueError):
        LRU(0)


@given(size=st.integers(1, 8), ops=st.lists(st.tuples(st.booleans(), st.integers(0, 12))))
def test_it_behaves_as_a_plain_model_of_lru(size: int, ops: list[tuple[bool, int]]) -> None:
    lru: LRU[int, int] = LRU(size)
    model: list[int] = []  # keys, least recent first
    for is_put, key in ops:
        if is_put:
            lru.put(key, key * 10)
            if key in model:
                model.remove(key)
            model.append(key)
            del model[:-size]
        else:
            assert lru.get(key) == (key * 10 if key in model else None)
            if key in model:
                model.remove(key)
                model.append(key)
    assert lru.keys() == model


def test_threads_putting_and_getting_at_once_keep_it_bounded_and_whole() -> None:
    lru: LRU[int, int] = LRU(64)
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def work(offset: int) -> None:
        try:
            start.wait()
            for n in range(5000):
                key = (n * 7 + offset) % 200
                lru.put(key, key)
                found = lru.get((key + 3) % 200)
                assert found is None or found == (key + 3) % 200
                if n % 11 == 0:
                    lru.pop(key)
                if n % 101 == 0:
                    assert len(lru.keys()) <= 64
        except BaseException as error:  # an assertion in a thread: carried to the test
            errors.append(error)

    threads = [threading.Thread(target=work, args=(offset,)) for offset in range(8)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert errors == []
    keys = lru.keys()
    assert len(keys) == len(lru) <= 64 and len(set(keys)) == len(keys)
    assert all(lru.get(key) == key for key in keys)
