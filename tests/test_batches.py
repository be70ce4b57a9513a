"""The one batching rule (tokkit.batches): close a batch once it reaches the limit, or before an
item of another key."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tokkit.batches import batched


def test_a_batch_closes_once_it_reaches_the_limit() -> None:
    assert list(batched(["ab", "c", "defg", "", "h"], 3)) == [["ab", "c"], ["defg"], ["", "h"]]
    assert list(batched([], 3)) == []
    assert list(batched(range(5), 2, size=lambda _: 1)) == [[0, 1], [2, 3], [4]]


def test_a_new_key_closes_the_batch() -> None:
    items = [("a", "xx"), ("a", "y"), ("b", "z"), ("b", "zzzz"), ("b", "w")]
    got = list(batched(items, 3, size=lambda t: len(t[1]), key=lambda t: t[0]))
    assert got == [[("a", "xx"), ("a", "y")], [("b", "z"), ("b", "zzzz")], [("b", "w")]]


@given(texts=st.lists(st.text(max_size=8)), limit=st.integers(1, 20))
def test_batches_keep_every_item_in_order_and_stop_at_the_limit(texts: list[str], limit: int) -> None:
    batches = list(batched(texts, limit))
    assert [t for b in batches for t in b] == texts
    for b in batches:
        assert b and sum(map(len, b[:-1])) < limit  # only its last item took it to the limit
    for b in batches[:-1]:
        assert sum(map(len, b)) >= limit
