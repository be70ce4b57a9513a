from __future__ import annotations

import numpy as np
import pytest

from tokkit.cpt.data import BatchPlan
from tokkit.errors import InputError


def test_batches_are_a_pure_function_of_the_step_and_cover_each_epoch() -> None:
    plan = BatchPlan(sequences=10, seq_len=8, batch_tokens=8 * 4, micro_batch=2, seed=3)
    assert plan.accumulation == 2 and plan.tokens_per_step == 32
    first_epoch = np.concatenate([plan.global_batch(s) for s in range(5)])[:10]
    assert sorted(first_epoch.tolist()) == list(range(10))
    fresh = BatchPlan(sequences=10, seq_len=8, batch_tokens=32, micro_batch=2, seed=3)
    assert np.array_equal(fresh.global_batch(7), plan.global_batch(7))
    other_seed = BatchPlan(sequences=10, seq_len=8, batch_tokens=32, micro_batch=2, seed=4)
    assert not np.array_equal(np.concatenate([other_seed.global_batch(s) for s in range(3)]),
                              np.concatenate([plan.global_batch(s) for s in range(3)]))


def test_ranks_split_the_global_batch_without_overlap() -> None:
    plan = BatchPlan(sequences=100, seq_len=4, batch_tokens=4 * 12, micro_batch=3, world_size=2, seed=0)
    assert plan.accumulation == 2
    parts = [np.concatenate(plan.micro_batches(5, rank)) for rank in range(2)]
    assert np.array_equal(np.concatenate(parts), plan.global_batch(5))


def test_a_batch_smaller_than_one_micro_batch_is_refused() -> None:
    with pytest.raises(InputError, match="`batch_tokens="):
        BatchPlan(sequences=100, seq_len=64, batch_tokens=100, micro_batch=2)
    with pytest.raises(InputError, match="no whole sequence"):
        BatchPlan(sequences=0, seq_len=64, batch_tokens=1000, micro_batch=1)
