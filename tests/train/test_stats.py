"""TrainStats: the shared figures first, by key or attribute, an algorithm's own after them."""

from __future__ import annotations

import json

import pytest

from tokkit.train.stats import SHARED, TrainStats


def test_shared_figures_and_extras_read_and_set_by_key() -> None:
    stats = TrainStats(extra={"alphabet": 3})
    stats["documents"] += 2
    stats["em_steps"] = 5
    assert stats.documents == 2 and stats["em_steps"] == 5 and stats.extra == {"alphabet": 3, "em_steps": 5}
    assert list(stats) == [*SHARED, "alphabet", "em_steps"]
    assert json.loads(json.dumps(dict(stats)))["vocab_size"] is None  # unfilled: null, not absent
    assert stats.get("missing") is None
    del stats["alphabet"]
    assert "alphabet" not in stats
    with pytest.raises(KeyError, match="shared figure"):
        del stats["documents"]
