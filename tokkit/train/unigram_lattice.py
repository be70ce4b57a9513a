"""The unigram trainer's numeric core: all lattices of a corpus at once, column by column, in numpy.

Why it is shaped like this: a corpus has millions of short "runs" (words split at script
boundaries), and a Python loop per run per position is far too slow. Runs are sorted by length,
longest first, so position ``j`` of every run long enough forms one *column*: the nodes of column
``j`` are a contiguous slice (``off[j] : off[j] + n[j]``, one per run). Every lattice edge
(a vocabulary piece matched at some position) ends in exactly one column; edges are stored sorted
by (end column, run), so one step of forward (log-sum-exp), backward or Viterbi (max) is a handful
of numpy operations over one column, with ``reduceat`` combining the edges that end at the same
node. The Python loop runs over columns (the longest run's length), not over characters.

Substrings are found with 64-bit polynomial rolling hashes (one pass per length, vectorized) and
looked up in per-length sorted hash tables: no Python dict of substrings is ever built.

:class:`ShardedLattice` deals the runs into a fixed number of such lattices, held by worker
processes so that the E-step, Viterbi and edge pruning use every core; results are summed in shard
order, so the trained model does not depend on the number of workers.
"""

from __future__ import annotations

import contextlib
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, NoReturn

import numpy as np
import numpy.typing as npt

from tokkit.pool import interrupts_held, pool_context
from tokkit.resources import release_free_memory

BASE = np.uint64(0x9E3779B97F4A7C15)

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
HashArray = npt.NDArray[np.uint64]


def code_points(text: str) -> npt.NDArray[np.uint64]:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)


def window_hashes(cps: npt.NDArray[np.uint64], max_len: int) -> Iterator[tuple[int, HashArray]]:
    """Yield ``(k, h)`` for k = 1..max_len, ``h[i]`` the hash of ``cps[i : i + k]`` (garbage where
    the window runs past the end; callers mask by the room left in each run)."""
    h = np.zeros(len(cps), dtype=np.uint64)
    for k in range(1, max_len + 1):
        if k > len(cps):
            return
        h[: len(cps) - k + 1] = h[: len(cps) - k + 1] * BASE + cps[k - 1 :] + np.uint64(1)
        yield k, h


def string_hashes(strings: list[str], max_len: int) -> HashArray:
    """The hash of each whole string (as ``window_hashes`` computes it); strings ≤ ``max_len``."""
    if not strings:
        return np.zeros(0, dtype=np.uint64)
    lengths = np.fromiter((len(s) for s in strings), dtype=np.int64, count=len(strings))
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    out = np.zeros(len(strings), dtype=np.uint64)
    for k, h in window_hashes(code_points("".join(strings)), max_len):
        sel = lengths == k
        out[sel] = h[starts[sel]]
    return out


FILTER_BITS = 24


@dataclass
class HashTable:
    """Alive pieces by length: sorted hashes and the piece id of each, plus a bitmap of hash
    prefixes that rules out most windows before the (slower) binary search."""

    hashes: list[HashArray]
    ids: list[IntArray]
    bitmap: npt.NDArray[np.bool_]  # one for all lengths: 16 MB

    @classmethod
    def build(cls, piece_hashes: HashArray, piece_lengths: IntArray, alive: npt.NDArray[np.bool_],
              max_len: int) -> HashTable:
        hashes: list[HashArray] = [np.zeros(0, dtype=np.uint64)]
        ids: list[IntArray] = [np.zeros(0, dtype=np.int64)]
        for k in range(1, max_len + 1):
            sel = np.flatnonzero(alive & (piece_lengths == k))
            order = np.argsort(piece_hashes[sel], kind="stable")
            hashes.append(piece_hashes[sel][order])
            ids.append(sel[order])
        bitmap = np.zeros(1 << FILTER_BITS, dtype=bool)
        bitmap[(piece_hashes[alive] >> np.uint64(64 - FILTER_BITS)).astype(np.int64)] = True
        return cls(hashes, ids, bitmap)

    def lookup(self, k: int, h: HashArray) -> tuple[IntArray, IntArray]:
        """(indices into ``h`` that are pieces of length k, their piece ids)."""
        table = self.hashes[k]
        if len(table) == 0 or len(h) == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        maybe = np.flatnonzero(self.bitmap[(h >> np.uint64(64 - FILTER_BITS)).astype(np.int64)])
        hm = h[maybe]
        pos = np.searchsorted(table, hm)
        pos[pos == len(table)] = 0
        hit = np.flatnonzero(table[pos] == hm)
        return maybe[hit], self.ids[k][pos[hit]]


def _segment_starts(run: npt.NDArray[np.int32], bounds: IntArray) -> list[IntArray]:
    """Per column, where each run's group of edges starts (relative to the column's slice)."""
    n = len(run)
    new = np.ones(n, dtype=bool)
    new[1:] = run[1:] != run[:-1]
    new[bounds[bounds < n]] = True  # a column starts a group even if its first run ended the last
    starts = np.flatnonzero(new)
    cuts = np.searchsorted(starts, bounds)
    return [starts[cuts[j] : cuts[j + 1]] - bounds[j] for j in range(len(bounds) - 1)]


def _logsumexp(x: FloatArray, seg: IntArray, group: npt.NDArray[np.int32], ref: FloatArray) -> FloatArray:
    """``log Σ exp(x)`` per group of consecutive edges (``seg``: where each group starts; ``group``:
    the group of each edge), shifted by ``ref`` (one per group) instead of the usual per-group max.

    Why: the max is a ``reduceat`` over every edge, a fifth of the E-step. A neighbouring node's
    value is within a few hundred of the result (pieces are ≤ 16 characters, each character's
    log-probability is above about -40), far inside float64's exp range; if some group still
    overflows or vanishes (longer pieces, extreme scores), that column falls back to the max.
    """
    with np.errstate(over="ignore"):  # an overflow is caught below
        s = np.add.reduceat(np.exp(x - ref[group]), seg)
    if s.min() > 0.0 and s.max() < np.inf:  # False on NaN too
        return ref + np.log(s)
    m = np.maximum.reduceat(x, seg)
    return m + np.log(np.add.reduceat(np.exp(x - m[group]), seg))


@dataclass
class Lattice:
    """Every lattice of a set of runs, as column-sorted edge arrays (see the module docstring).

    Edges are stored twice, in the order each pass reads them, so both passes read contiguous
    slices: ``f_*`` by (end column, run) for forward and Viterbi, ``b_*`` by (start column, run)
    for backward. ``*_src``/``*_dst`` are node indices, precomputed once.
    """

    lengths: IntArray  # run lengths, descending
    counts: FloatArray  # run weights (occurrences in the corpus)
    off: IntArray  # off[j]: first node of column j
    ncol: IntArray  # ncol[j]: runs with length ≥ j
    f_run: npt.NDArray[np.int32]
    f_len: npt.NDArray[np.int8]
    f_piece: npt.NDArray[np.int32]
    f_src: npt.NDArray[np.int32]
    f_bounds: IntArray  # edges ending at column j: f_bounds[j] : f_bounds[j + 1]
    b_run: npt.NDArray[np.int32]
    b_piece: npt.NDArray[np.int32]
    b_dst: npt.NDArray[np.int32]
    b_bounds: IntArray  # edges starting at column j
    f_seg: list[IntArray]
    b_seg: list[IntArray]

    @property
    def max_len(self) -> int:
        return int(self.lengths[0]) if len(self.lengths) else 0

    @property
    def edges(self) -> int:
        return len(self.f_run)

    @classmethod
    def build(cls, text: str, run_starts: IntArray, lengths: IntArray, counts: FloatArray,
              table: HashTable, max_piece_len: int, *, skip_whole: bool = False) -> Lattice:
        """Lattices of runs ``text[run_starts[r] : run_starts[r] + lengths[r]]`` (sorted by length,
        descending). ``skip_whole`` leaves out the edge covering a whole run (pruning uses it
        to find each piece's best segmentation without itself)."""
        n_runs = len(lengths)
        cps = code_points(text)
        run_of = np.repeat(np.arange(n_runs, dtype=np.int32), lengths)
        pos_in_run = (np.arange(len(run_of), dtype=np.int64) - np.repeat(run_starts, lengths)).astype(np.int32)
        room = np.repeat(lengths, lengths).astype(np.int32) - pos_in_run
        # each starts with an empty array, so a shard without runs gets an empty lattice
        runs = [np.zeros(0, dtype=np.int32)]
        ends = [np.zeros(0, dtype=np.int32)]
        lens = [np.zeros(0, dtype=np.int8)]
        pieces = [np.zeros(0, dtype=np.int32)]
        for k, h in window_hashes(cps, max_piece_len):
            valid = np.flatnonzero(room >= k)
            if skip_whole:
                valid = valid[~((pos_in_run[valid] == 0) & (room[valid] == k))]
            hit, ids = table.lookup(k, h[valid])
            at = valid[hit]
            runs.append(run_of[at])
            ends.append((pos_in_run[at] + k).astype(np.int32))
            lens.append(np.full(len(at), k, dtype=np.int8))
            pieces.append(ids.astype(np.int32))
        del cps, run_of, pos_in_run, room
        e_run = np.concatenate(runs)
        del runs
        e_end = np.concatenate(ends)
        del ends
        e_len = np.concatenate(lens)
        del lens
        e_piece = np.concatenate(pieces)
        del pieces
        max_len = int(lengths[0]) if n_runs else 0
        ncol = np.searchsorted(-lengths, -np.arange(max_len + 1), side="right").astype(np.int64)
        off = np.concatenate([[0], np.cumsum(ncol)]).astype(np.int64)
        cols = np.arange(max_len + 2)
        # one int64 key sorts faster than a two-key lexsort
        order = np.argsort((e_end.astype(np.int64) << 32) | e_run)
        f_run, f_len, f_piece = e_run[order], e_len[order], e_piece[order]
        f_end = e_end[order]
        del order
        f_src = (off[f_end - f_len] + f_run).astype(np.int32)
        f_bounds = np.searchsorted(f_end, cols).astype(np.int64)
        del f_end
        start = (e_end - e_len).astype(np.int32)
        del e_end
        order = np.argsort((start.astype(np.int64) << 32) | e_run)
        b_run, b_piece = e_run[order], e_piece[order]
        b_start, b_len = start[order], e_len[order]
        del e_run, e_piece, e_len, start, order
        b_dst = (off[b_start + b_len] + b_run).astype(np.int32)
        b_bounds = np.searchsorted(b_start, cols).astype(np.int64)
        del b_start, b_len
        return cls(lengths=lengths, counts=counts, off=off, ncol=ncol, f_run=f_run, f_len=f_len,
                   f_piece=f_piece, f_src=f_src, f_bounds=f_bounds, b_run=b_run, b_piece=b_piece,
                   b_dst=b_dst, b_bounds=b_bounds, f_seg=_segment_starts(f_run, f_bounds),
                   b_seg=_segment_starts(b_run, b_bounds))

    def keep_pieces(self, alive: npt.NDArray[np.bool_]) -> None:
        """Drop the edges of pieces no longer in the vocabulary (keeps every run connected as
        long as single characters stay alive)."""
        keep_f = np.flatnonzero(alive[self.f_piece])
        if len(keep_f) == len(self.f_piece):
            return
        # new bounds: kept edges before each old bound (a searchsorted, not a cumsum over edges)
        self.f_bounds = np.searchsorted(keep_f, self.f_bounds)
        self.f_run, self.f_len = self.f_run[keep_f], self.f_len[keep_f]
        self.f_piece, self.f_src = self.f_piece[keep_f], self.f_src[keep_f]
        del keep_f
        keep_b = np.flatnonzero(alive[self.b_piece])
        self.b_bounds = np.searchsorted(keep_b, self.b_bounds)
        self.b_run, self.b_piece, self.b_dst = self.b_run[keep_b], self.b_piece[keep_b], self.b_dst[keep_b]
        self.f_seg = _segment_starts(self.f_run, self.f_bounds)
        self.b_seg = _segment_starts(self.b_run, self.b_bounds)

    def forward_backward(self, logp: FloatArray) -> tuple[FloatArray, float]:
        """Expected count of every piece (weighted by run counts) and the log-likelihood total.

        Each node's log-sum-exp is taken relative to its run's neighbouring node (the previous
        column forward, the next backward; contiguous slices), see :func:`_logsumexp`.
        """
        off, ncol, L = self.off, self.ncol, self.max_len
        la = np.zeros(int(off[-1]), dtype=np.float64)
        for j in range(1, L + 1):
            a, b = self.f_bounds[j], self.f_bounds[j + 1]
            x = la[self.f_src[a:b]] + logp[self.f_piece[a:b]]
            ref = la[off[j - 1] : off[j - 1] + ncol[j]]
            la[off[j] : off[j] + ncol[j]] = _logsumexp(x, self.f_seg[j], self.f_run[a:b], ref)
        n_runs = len(self.lengths)
        z = la[off[self.lengths] + np.arange(n_runs)]
        lb = np.zeros(int(off[-1]), dtype=np.float64)
        post = np.empty(self.edges, dtype=np.float64)
        for s_col in range(L - 1, -1, -1):
            a, b = self.b_bounds[s_col], self.b_bounds[s_col + 1]
            run = self.b_run[a:b]
            y = lb[self.b_dst[a:b]] + logp[self.b_piece[a:b]]
            n_next = ncol[s_col + 1]
            ref = lb[off[s_col + 1] : off[s_col + 1] + n_next]
            lb[off[s_col] : off[s_col] + n_next] = _logsumexp(y, self.b_seg[s_col], run, ref)
            y += la[off[s_col] + run]
            y -= z[run]
            np.exp(y, out=y)
            y *= self.counts[run]
            post[a:b] = y
        expected = np.bincount(self.b_piece, weights=post, minlength=len(logp)).astype(np.float64)
        return expected, float(np.dot(z, self.counts))

    def piece_frequencies(self, logp: FloatArray) -> FloatArray:
        """How often each piece is in the best segmentations of the runs (weighted by run counts)."""
        tok_runs, tok_pieces, _ = self.viterbi(logp)
        return np.bincount(tok_pieces, weights=self.counts[tok_runs], minlength=len(logp)).astype(np.float64)

    def viterbi(self, logp: FloatArray) -> tuple[IntArray, IntArray, FloatArray]:
        """Best segmentation of every run: (run of each token, piece of each token, run scores).

        Tokens come out grouped by backtracking step, not by run order.
        """
        off, ncol, L = self.off, self.ncol, self.max_len
        va = np.zeros(int(off[-1]), dtype=np.float64)
        bp = np.zeros(int(off[-1]), dtype=np.int64)
        for j in range(1, L + 1):
            a, b = self.f_bounds[j], self.f_bounds[j + 1]
            run = self.f_run[a:b]
            x = va[self.f_src[a:b]] + logp[self.f_piece[a:b]]
            m = np.maximum.reduceat(x, self.f_seg[j])
            cand = np.flatnonzero(x == m[run])
            rc = run[cand]
            first = cand[np.concatenate([[True], rc[1:] != rc[:-1]])]
            va[off[j] : off[j] + ncol[j]] = m
            bp[off[j] + run[first]] = a + first
        n_runs = len(self.lengths)
        scores = va[off[self.lengths] + np.arange(n_runs)]
        runs = np.arange(n_runs, dtype=np.int64)
        pos = self.lengths.astype(np.int64).copy()
        tok_runs, tok_pieces = [], []
        while len(runs):
            e = bp[off[pos] + runs]
            tok_runs.append(runs)
            tok_pieces.append(self.f_piece[e].astype(np.int64))
            pos = pos - self.f_len[e].astype(np.int64)
            keep = pos > 0
            runs, pos = runs[keep], pos[keep]
        if not tok_runs:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), scores
        return np.concatenate(tok_runs), np.concatenate(tok_pieces), scores


SHARDS = 4
"""Runs are dealt into this many lattices whatever the worker count: per-shard results are summed
in shard order, so 1 worker and 4 give the same floats, hence the same model."""
DIED = "the process died (killed, or out of memory?)"
MIN_PARALLEL_CHARS = 1 << 20
"""Below this many characters of runs, shards stay in-process: starting workers would cost more."""


def sum_in_order(arrays: list[FloatArray]) -> FloatArray:
    """``arrays[0] + arrays[1] + ...`` added left to right (per-shard results: the same floats
    whatever the worker count)."""
    total = arrays[0].copy()
    for a in arrays[1:]:
        total += a
    return total


class ShardedLattice:
    """The corpus's lattices in :data:`SHARDS` shards (runs dealt round-robin, so each shard keeps
    the longest-first order and gets a fair share of edges), spread over worker processes.

    Why processes: every step is numpy over millions of edges, one core each; the E-step, Viterbi
    and edge pruning dominate training, and each shard's are independent. Workers build their own
    shards (so the build runs in parallel too and the parent never holds the edges), then answer
    method calls: the parent sends ``logp`` or ``alive`` (a few MB) and gets per-shard results.
    With one worker the shards are built and called in-process, through the same code.

    Create it *before* counting: a forked worker keeps a copy-on-write image of the parent's heap
    as it was at the fork, so forking a small parent and sending the shards' texts once (tens of
    MB, pickled) costs far less memory than forking after the seeds are found.
    """

    def __init__(self, workers: int) -> None:
        self.workers = max(1, min(workers, SHARDS))
        self.shard_edges: list[int] = []
        self._local: list[Lattice] = []
        self._conns: list[Connection] = []
        self._procs: list[Any] = []
        self._pending: tuple[str, Any] | None = None
        if self.workers == 1:
            return
        context: Any = pool_context()  # typeshed's BaseContext lacks Process and Pipe
        for _ in range(self.workers):
            parent, child = context.Pipe()
            proc = context.Process(target=_serve, args=(child,), daemon=True)
            with interrupts_held():  # Ctrl-C is the parent's (tokkit.pool)
                proc.start()
            child.close()
            self._conns.append(parent)
            self._procs.append(proc)

    def build(self, text: str, run_starts: IntArray, lengths: IntArray, counts: FloatArray,
              table: HashTable, max_piece_len: int) -> None:
        """Deal the runs into shards and build their lattices (see :meth:`Lattice.build`)."""
        specs = []
        for s in range(SHARDS):
            idx = np.arange(s, len(lengths), SHARDS)
            shard_text = "".join([text[a : a + n] for a, n in zip(run_starts[idx].tolist(),
                                                                   lengths[idx].tolist(), strict=True)])
            shard_lengths = lengths[idx]
            shard_starts = (np.cumsum(shard_lengths) - shard_lengths).astype(np.int64)
            specs.append((shard_text, shard_starts, shard_lengths, counts[idx]))
        if len(text) < MIN_PARALLEL_CHARS:
            self.close()
            self.workers = 1
        if self.workers == 1:
            self._local = [Lattice.build(*spec, table, max_piece_len) for spec in specs]
            self.shard_edges = [lat.edges for lat in self._local]
            return
        for w, conn in enumerate(self._conns):
            conn.send(("build", (specs[w :: self.workers], table, max_piece_len)))
        del specs
        release_free_memory()  # the texts and their pickles, while the workers build
        self.shard_edges = self._gather()

    @property
    def edges(self) -> int:
        return sum(self.shard_edges)

    def request(self, method: str, arg: Any) -> None:
        """Start ``Lattice.method(arg)`` on every shard; :meth:`collect` returns the results."""
        if self._local:
            self._pending = (method, arg)
            return
        try:
            for conn in self._conns:
                conn.send((method, arg))
        except OSError:  # a broken pipe: the worker is gone
            self._fail(DIED)

    def collect(self) -> list[Any]:
        """The results of the last :meth:`request`, in shard order."""
        if self._local:
            assert self._pending is not None
            method, arg = self._pending
            self._pending = None
            return [getattr(lat, method)(arg) for lat in self._local]
        return self._gather()

    def _gather(self) -> list[Any]:
        per_worker = []
        for conn in self._conns:
            try:
                status, value = conn.recv()
            except (EOFError, OSError):
                status, value = "error", DIED
            if status != "ok":
                self._fail(value)
            per_worker.append(value)
        # worker w holds shards w, w + workers, ...: put them back in shard order
        out: list[Any] = [None] * SHARDS
        for w, values in enumerate(per_worker):
            out[w :: self.workers] = values
        return out

    def _fail(self, why: str) -> NoReturn:
        self.close(wait=False)
        raise RuntimeError(f"unigram lattice worker failed: {why}")

    def forward_backward(self, logp: FloatArray) -> tuple[FloatArray, float]:
        """Expected piece counts and log-likelihood over all shards (summed in shard order)."""
        self.request("forward_backward", logp)
        results = self.collect()
        return sum_in_order([e for e, _ in results]), float(sum(loglik for _, loglik in results))

    def keep_pieces(self, alive: npt.NDArray[np.bool_]) -> None:
        self.request("keep_pieces", alive)
        self.collect()

    def close(self, *, wait: bool = True) -> None:
        """Stop the workers: let them finish (``wait``), or terminate them (on an error, when
        they may be in the middle of a step)."""
        for conn in self._conns:
            with contextlib.suppress(OSError):  # a worker that failed has closed its end
                conn.send((None, None))
            conn.close()
        for proc in self._procs:
            if wait:
                proc.join(timeout=10)
            if proc.is_alive():
                proc.terminate()
                proc.join()
        self._conns, self._procs = [], []

    def __enter__(self) -> ShardedLattice:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self.close(wait=exc_type is None)


def _serve(conn: Connection) -> None:
    """A worker: build its shards when told, then answer ``(method, arg)`` with every shard's result."""
    lattices: list[Lattice] = []
    try:
        while True:
            method, arg = conn.recv()
            if method is None:
                return
            if method == "build":
                max_piece_len: int = arg[2]
                specs: list[tuple[str, IntArray, IntArray, FloatArray]] = arg[0]
                table: HashTable = arg[1]
                del arg
                lattices = [Lattice.build(t, s, n, c, table, max_piece_len) for t, s, n, c in specs]
                del specs, table
                release_free_memory()
                conn.send(("ok", [lat.edges for lat in lattices]))
            else:
                conn.send(("ok", [getattr(lat, method)(arg) for lat in lattices]))
    except EOFError:  # the parent has gone
        return
    except BaseException:
        conn.send(("error", traceback.format_exc()))
    finally:
        conn.close()
