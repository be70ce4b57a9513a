"""How many tokens a corpus costs under each tokenizer, and why: the figures behind ``tokkit analyze``.

The corpus is streamed once, in batches; every tokenizer encodes each batch with its own batch
encoder. tokkit's work per batch is kept to a few numpy passes over the ids: a histogram of ids
(from which byte-fallback, ``[UNK]``, vocabulary use, token lengths, whole Han characters and the
script shares of whole characters all follow through the vocabulary's :class:`TokenTable`), plus a
look in context at only those tokens that hold part of a character. Round-trip exactness is checked
by comparing token bytes with the input where that provably equals the library's decode, and by
the library's decode everywhere else.

>>> report = analyze(["tiktoken:cl100k_base"], {"zh": ["zh.txt"]})  # doctest: +SKIP
>>> report.results[0].figures["tokens_per_han_char"]  # doctest: +SKIP
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tokkit.analyze.scripts import (
    HAN,
    OTHER,
    SCRIPTS,
    classify,
    code_points,
    count_scripts,
    utf8_lengths,
)
from tokkit.analyze.token_bytes import (
    FALLBACK,
    NEVER_IN_TEXT,
    PARTIAL,
    SPECIAL,
    UNKNOWN,
    TokenTable,
    token_table,
)
from tokkit.corpus.readers import ReadOptions, ReadStats, iter_files, read_documents
from tokkit.errors import InputError, TokkitError
from tokkit.load import load_tokenizer
from tokkit.progress import NULL_PROGRESS
from tokkit.types import Progress, Tokenizer

BATCH_BYTES = 1 << 20


@dataclass(frozen=True, kw_only=True)
class AnalyzeConfig:
    """How to read and sample the corpus.

    ``max_bytes`` caps the UTF-8 text read per corpus, split evenly over its files (so a folder of
    books is sampled from every book); the last document of a file is cut at a character boundary.
    ``by_file`` adds one result per file beside the per-corpus one.
    """

    read: ReadOptions = field(default_factory=lambda: ReadOptions(split="line"))
    max_bytes: int | None = None
    by_file: bool = False
    batch_bytes: int = BATCH_BYTES

    def __post_init__(self) -> None:
        if self.max_bytes is not None and self.max_bytes <= 0:
            raise InputError(f"--max-bytes {self.max_bytes}: must be a positive number of bytes")
        if self.batch_bytes <= 0:
            raise InputError(f"batch_bytes {self.batch_bytes}: must be positive")


@dataclass(frozen=True)
class NamedTokenizer:
    """A tokenizer with the short name reports use (``llama``, ``cl100k_base``)."""

    name: str
    spec: str
    tokenizer: Tokenizer


def tokenizer_label(spec: str | Path) -> str:
    """A short, readable name for a tokenizer spec: the encoding, the folder, or the file stem."""
    text = str(spec)
    if text.startswith("tiktoken:"):
        return text.removeprefix("tiktoken:")
    path = Path(text)
    generic = {"tokenizer", "spm", "model", "vocab", "tokkit"}
    if path.is_file() and path.stem in generic and path.parent.name:
        return path.parent.name
    return path.name or text


def open_tokenizers(specs: Sequence[str | Path | Tokenizer]) -> list[NamedTokenizer]:
    """Load every spec (or take a ready :class:`Tokenizer`) and give each a unique short name."""
    named: list[NamedTokenizer] = []
    seen: dict[str, int] = {}
    for spec in specs:
        if isinstance(spec, str | Path):
            tok, label, text = load_tokenizer(spec), tokenizer_label(spec), str(spec)
        else:
            kind = getattr(spec, "kind", type(spec).__name__)
            tok, label, text = spec, str(getattr(spec, "name", kind)), f"<{kind}>"
        seen[label] = seen.get(label, 0) + 1
        if seen[label] > 1:
            label = f"{label}#{seen[label]}"
        named.append(NamedTokenizer(label, text, tok))
    return named


# --- tallies ---------------------------------------------------------------------------------


@dataclass
class TextTally:
    """What the text itself holds, whatever the tokenizer."""

    documents: int = 0
    chars: int = 0
    bytes: int = 0
    words: int = 0
    script_chars: np.ndarray = field(default_factory=lambda: np.zeros(len(SCRIPTS), np.int64))
    script_bytes: np.ndarray = field(default_factory=lambda: np.zeros(len(SCRIPTS), np.int64))

    def add(self, other: TextTally) -> None:
        self.documents += other.documents
        self.chars += other.chars
        self.bytes += other.bytes
        self.words += other.words
        self.script_chars += other.script_chars
        self.script_bytes += other.script_bytes


@dataclass
class TokenTally:
    """What one tokenizer made of it: an id histogram plus what needs context."""

    histogram: np.ndarray
    split_scripts: np.ndarray = field(default_factory=lambda: np.zeros(len(SCRIPTS)))
    han_split: int = 0
    roundtrip_exact: int = 0

    def add(self, other: TokenTally) -> None:
        self.histogram += other.histogram
        self.split_scripts += other.split_scripts
        self.han_split += other.han_split
        self.roundtrip_exact += other.roundtrip_exact


def text_tally(texts: Sequence[str], encoded: Sequence[bytes]) -> TextTally:
    joined = "".join(texts)
    chars, nbytes = count_scripts(joined)
    return TextTally(
        documents=len(texts),
        chars=len(joined),
        bytes=sum(map(len, encoded)),
        words=sum(len(t.split()) for t in texts),
        script_chars=chars,
        script_bytes=nbytes,
    )


class Measurer:
    """Encodes batches with one tokenizer and tallies them against its :class:`TokenTable`."""

    def __init__(self, named: NamedTokenizer, table: TokenTable | None = None) -> None:
        self.named = named
        self.tokenizer = named.tokenizer
        self.table = table if table is not None else token_table(self.tokenizer)
        self.encode_batch = _encoder(self.tokenizer)
        self.decode_batch = _decoder(self.tokenizer)
        # token bytes as one flat array; unknown and special ids stand for bytes that never occur
        # in UTF-8 text, so a document holding one never matches its input and goes to the library
        flags = self.table.flags
        compare = [
            NEVER_IN_TEXT if flag & (UNKNOWN | SPECIAL) else surface
            for surface, flag in zip(self.table.surfaces, flags.tolist(), strict=True)
        ]
        self._blob = np.frombuffer(b"".join(compare), dtype=np.uint8)
        self._lengths = np.fromiter(map(len, compare), dtype=np.int64, count=len(compare))
        self._offsets = np.cumsum(self._lengths) - self._lengths
        self._partial = (flags & PARTIAL).astype(bool)
        self._has_partial = bool(self._partial.any())

    def empty(self) -> TokenTally:
        return TokenTally(histogram=np.zeros(self.table.size, np.int64))

    def measure(self, texts: list[str], encoded: Sequence[bytes]) -> TokenTally:
        return self.tally(texts, encoded, self.encode_batch(texts))

    def tally(self, texts: list[str], encoded: Sequence[bytes], id_lists: list[list[int]]) -> TokenTally:
        """Tally one batch already encoded by :attr:`encode_batch`."""
        counts = np.fromiter(map(len, id_lists), dtype=np.int64, count=len(id_lists))
        total = int(counts.sum())
        ids = np.fromiter(itertools.chain.from_iterable(id_lists), dtype=np.int64, count=total)
        histogram = np.bincount(ids, minlength=self.table.size) if total else self.empty().histogram
        if len(histogram) > self.table.size:
            raise TokkitError(
                f"{self.named.name}: produced id {len(histogram) - 1} outside its vocabulary of "
                f"{self.table.size}; the tokenizer files are inconsistent"
            )
        tally = TokenTally(histogram=histogram)
        if self._has_partial and total:
            self._split_chars(ids, tally)
        tally.roundtrip_exact = self._roundtrip(texts, encoded, id_lists, ids, counts)
        return tally

    def _stream(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The bytes ``ids`` stand for, concatenated (one numpy gather), and each id's length."""
        lengths = self._lengths[ids]
        total = int(lengths.sum())
        if not total:
            return np.zeros(0, np.uint8), lengths
        shift = np.repeat(self._offsets[ids] - (np.cumsum(lengths) - lengths), lengths)
        return self._blob[shift + np.arange(total)], lengths

    def _split_chars(self, ids: np.ndarray, tally: TokenTally) -> None:
        """Attribute the bytes of characters split across tokens, in context.

        Only tokens holding part of a character are looked at: the bytes of a split character are
        always in consecutive such tokens, so their concatenation reassembles it.
        """
        sub = ids[self._partial[ids]]
        if not len(sub):
            return
        stream, lengths = self._stream(sub)
        cps = code_points(stream.tobytes().decode("utf-8", errors="surrogateescape"))
        char_bytes = utf8_lengths(cps)
        starts = np.cumsum(char_bytes) - char_bytes
        owner = np.repeat(np.arange(len(sub)), lengths)
        split = owner[starts] != owner[starts + char_bytes - 1]
        stray = (cps >= 0xDC80) & (cps < 0xDD00)  # a byte that never became a character
        cost = np.add.reduceat(np.repeat(1.0 / lengths, lengths), starts)
        classes = classify(cps)
        counted = split | stray
        tally.split_scripts += np.bincount(classes[counted], weights=cost[counted],
                                           minlength=len(SCRIPTS))
        tally.han_split += int(np.count_nonzero(split & (classes == HAN)))

    def _roundtrip(self, texts: list[str], encoded: Sequence[bytes], id_lists: list[list[int]],
                   ids: np.ndarray, counts: np.ndarray) -> int:
        """Documents with ``decode(encode(x)) == x``.

        Where the table vouches that the library's decode is the concatenated token bytes minus a
        known prefix, documents whose bytes equal ``prefix + input`` are exact without decoding;
        every other document is decoded by the library.
        """
        prefix = self.table.decode_prefix
        exact = np.zeros(len(texts), dtype=bool)
        if prefix is not None and len(ids):
            stream, lengths = self._stream(ids)
            expected = np.frombuffer(prefix + prefix.join(encoded), dtype=np.uint8)
            want = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)) + len(prefix)
            byte_ends = np.concatenate(([0], np.cumsum(lengths)))
            token_ends = np.cumsum(counts)
            got_starts = byte_ends[token_ends - counts]
            got = byte_ends[token_ends] - got_starts
            exact = got == want
            if exact.all():
                wrong = np.flatnonzero(stream != expected)
                if len(wrong):
                    starts = np.cumsum(want) - want
                    exact[np.searchsorted(starts, wrong, side="right") - 1] = False
            else:
                want_starts = np.cumsum(want) - want
                for i in np.flatnonzero(exact).tolist():
                    a, b, n = got_starts[i], want_starts[i], want[i]
                    exact[i] = bool(np.array_equal(stream[a:a + n], expected[b:b + n]))
        unsure = np.flatnonzero(~exact).tolist()
        if unsure:
            decoded = self.decode_batch([id_lists[i] for i in unsure])
            for i, text in zip(unsure, decoded, strict=True):
                exact[i] = text == texts[i]
        return int(exact.sum())


def _encoder(tok: Tokenizer) -> Callable[[list[str]], list[list[int]]]:
    """The library's own batch encode where the wrapper exposes it (same ids as ``encode``)."""
    kind = getattr(tok, "kind", None)
    if kind == "spm" and hasattr(tok, "sp"):
        sp = tok.sp
        return lambda texts: sp.EncodeAsIds(texts) if texts else []
    batch = getattr(tok, "encode_batch", None)
    if callable(batch):
        return lambda texts: list(batch(texts))
    single = tok.encode
    return lambda texts: [single(t) for t in texts]


def measure_batches(
    measurers: Sequence[Measurer], batches: Iterable[tuple[str, list[str], list[bytes]]]
) -> Iterator[tuple[str, TextTally, list[TokenTally]]]:
    """Tally every batch with every tokenizer, one encode always running ahead.

    The next (batch, tokenizer) is encoded on a worker thread while this one is tallied: the
    libraries encode in native code without the GIL, so on two cores tokkit's numpy work hides
    behind the tokenizer's own.
    """
    jobs = ((source, texts, encoded, m) for source, texts, encoded in batches for m in measurers)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="tokkit-encode") as pool:
        ahead: deque[tuple[str, list[str], list[bytes], Measurer, Future[list[list[int]]]]] = deque()
        current: tuple[str, TextTally, list[TokenTally]] | None = None
        for source, texts, encoded, m in jobs:
            ahead.append((source, texts, encoded, m, pool.submit(m.encode_batch, texts)))
            if len(ahead) < 2:
                continue
            current = yield from _tally_next(ahead, current, len(measurers))
        while ahead:
            current = yield from _tally_next(ahead, current, len(measurers))
        if current is not None:
            yield current


def _tally_next(
    ahead: deque[tuple[str, list[str], list[bytes], Measurer, Future[list[list[int]]]]],
    current: tuple[str, TextTally, list[TokenTally]] | None,
    n_measurers: int,
) -> Generator[tuple[str, TextTally, list[TokenTally]], None, tuple[str, TextTally, list[TokenTally]]]:
    source, texts, encoded, m, future = ahead.popleft()
    if current is None or len(current[2]) == n_measurers:
        if current is not None:
            yield current
        current = (source, text_tally(texts, encoded), [])
    current[2].append(m.tally(texts, encoded, future.result()))
    return current


def _decoder(tok: Tokenizer) -> Callable[[list[list[int]]], list[str]]:
    """The library's own batch decode where the wrapper exposes it (same arguments as ``decode``)."""
    kind = getattr(tok, "kind", None)
    if kind == "hf" and hasattr(tok, "hf"):
        hf = tok.hf
        return lambda batch: [str(s) for s in hf.decode_batch(batch, skip_special_tokens=False)]
    if kind == "spm" and hasattr(tok, "sp"):
        sp = tok.sp
        return lambda batch: [str(s) for s in sp.DecodeIds(batch)] if batch else []
    batch_decode = getattr(tok, "decode_batch", None)
    if callable(batch_decode):
        return lambda batch: list(batch_decode(batch))
    return lambda batch: [tok.decode(ids) for ids in batch]


# --- figures ---------------------------------------------------------------------------------


def _ratio(a: float, b: float) -> float | None:
    return float(a) / float(b) if b else None


def figures(text: TextTally, tokens: TokenTally, table: TokenTable, vocab_size: int) -> dict[str, Any]:
    """Every figure of one tokenizer on one text (see docs/analyze.md for definitions)."""
    hist = tokens.histogram
    n_tokens = int(hist.sum())
    used = hist > 0
    flags = table.flags
    fallback = int(hist[(flags & FALLBACK).astype(bool)].sum())
    unknown = int(hist[(flags & UNKNOWN).astype(bool)].sum())
    partial = int(hist[(flags & PARTIAL).astype(bool)].sum())
    han_chars = int(text.script_chars[HAN])
    han_whole = int(hist @ table.han_whole)
    script_tokens = hist.astype(np.float64) @ table.scripts + tokens.split_scripts
    script_tokens[OTHER] += float(hist[table.lengths == 0].sum())
    scripts = {}
    for i, name in enumerate(SCRIPTS):
        chars, nbytes, cost = int(text.script_chars[i]), int(text.script_bytes[i]), float(script_tokens[i])
        scripts[name] = {
            "chars": chars,
            "bytes": nbytes,
            "bytes_per_char": _ratio(nbytes, chars),
            "tokens": cost,
            "tokens_per_char": _ratio(cost, chars),
            "bytes_per_token": _ratio(nbytes, cost),
        }
    n_used = int(used.sum())
    return {
        "documents": text.documents,
        "chars": text.chars,
        "bytes": text.bytes,
        "words": text.words,
        "han_chars": han_chars,
        "tokens": n_tokens,
        "chars_per_token": _ratio(text.chars, n_tokens),
        "bytes_per_token": _ratio(text.bytes, n_tokens),
        "tokens_per_char": _ratio(n_tokens, text.chars),
        "tokens_per_han_char": _ratio(n_tokens, han_chars),
        "tokens_per_word": _ratio(n_tokens, text.words),
        "byte_fallback_tokens": fallback,
        "byte_fallback_rate": _ratio(fallback, n_tokens),
        "unk_tokens": unknown,
        "unk_rate": _ratio(unknown, n_tokens),
        "partial_char_tokens": partial,
        "partial_char_rate": _ratio(partial, n_tokens),
        "han_whole": han_whole,
        "han_split": tokens.han_split,
        "han_whole_share": _ratio(han_whole, han_chars),
        "han_split_share": _ratio(tokens.han_split, han_chars),
        "vocab_size": vocab_size,
        "vocab_used": n_used,
        "vocab_utilization": _ratio(n_used, vocab_size),
        "mean_token_bytes": _ratio(int(table.lengths[used].sum()), n_used),
        "mean_token_chars": _ratio(int(table.nchars[used].sum()), n_used),
        "roundtrip_exact": tokens.roundtrip_exact,
        "roundtrip_rate": _ratio(tokens.roundtrip_exact, text.documents),
        "scripts": scripts,
    }


def versus(figs: Mapping[str, Any], base: Mapping[str, Any]) -> dict[str, Any]:
    """Ratios against the baseline tokenizer on the same text (``0.53`` = 0.53× its tokens)."""
    return {
        "tokens_ratio": _ratio(figs["tokens"], base["tokens"]),
        "scripts": {
            name: _ratio(figs["scripts"][name]["tokens"], base["scripts"][name]["tokens"])
            for name in SCRIPTS
        },
    }


# --- the run ---------------------------------------------------------------------------------


@dataclass
class Result:
    """One tokenizer on one corpus (``file`` is None) or one file of it."""

    tokenizer: str
    corpus: str
    file: str | None
    figures: dict[str, Any]
    vs_baseline: dict[str, Any] | None = None


@dataclass
class Report:
    """Everything one ``analyze`` run measured; :meth:`to_json` is the documented schema."""

    config: AnalyzeConfig
    tokenizers: list[dict[str, Any]]
    corpora: list[dict[str, Any]]
    results: list[Result]

    @property
    def baseline(self) -> str:
        return str(self.tokenizers[0]["name"])

    def result(self, tokenizer: str, corpus: str, file: str | None = None) -> Result:
        for r in self.results:
            if (r.tokenizer, r.corpus, r.file) == (tokenizer, corpus, file):
                return r
        raise KeyError((tokenizer, corpus, file))

    def to_json(self) -> dict[str, Any]:
        from tokkit import __version__

        config = asdict(self.config)
        config["read"] = asdict(self.config.read)
        return {
            "schema": SCHEMA,
            "tokkit_version": __version__,
            "config": config,
            "baseline": self.baseline,
            "scripts": list(SCRIPTS),
            "tokenizers": self.tokenizers,
            "corpora": self.corpora,
            "results": [asdict(r) for r in self.results],
        }


SCHEMA = "tokkit.analyze/1"


def _sample(files: Sequence[Path], config: AnalyzeConfig, stats: ReadStats) -> Iterator[tuple[str, str]]:
    """Yield (source file, text) of a corpus, within ``max_bytes`` split evenly over its files."""
    budget = None if config.max_bytes is None else max(1, config.max_bytes // max(1, len(files)))
    for path in files:
        left = budget
        for doc in read_documents([path], config.read, stats=stats):
            text = doc.text
            if left is not None:
                raw = text.encode("utf-8")
                if len(raw) > left:
                    text = raw[:left].decode("utf-8", errors="ignore")
                    if text:
                        yield doc.source, text
                    break
                left -= len(raw)
            yield doc.source, text
            if left == 0:
                break


def _batches(pairs: Iterator[tuple[str, str]], batch_bytes: int) -> Iterator[tuple[str, list[str], list[bytes]]]:
    """Group texts into batches of one source file each, about ``batch_bytes`` long."""
    source: str | None = None
    texts: list[str] = []
    encoded: list[bytes] = []
    size = 0
    for src, text in pairs:
        if texts and (src != source or size >= batch_bytes):
            yield str(source), texts, encoded
            texts, encoded, size = [], [], 0
        source = src
        raw = text.encode("utf-8")
        texts.append(text)
        encoded.append(raw)
        size += len(raw)
    if texts:
        yield str(source), texts, encoded


def analyze(
    tokenizers: Sequence[str | Path | Tokenizer],
    corpora: Mapping[str, Sequence[str | Path]] | Sequence[str | Path],
    *,
    config: AnalyzeConfig | None = None,
    progress: Progress | None = None,
) -> Report:
    """Measure every tokenizer on every corpus; the first tokenizer is the baseline.

    ``corpora`` maps a corpus name to its paths (files, folders, globs); a plain list of paths
    makes one corpus per path, named after it.
    """
    config = config or AnalyzeConfig()
    progress = progress or NULL_PROGRESS
    if not tokenizers:
        raise InputError("no tokenizer given; name at least one (a path or tiktoken:NAME)")
    if not isinstance(corpora, Mapping):
        corpora = {Path(p).name or str(p): [p] for p in corpora}
    if not corpora:
        raise InputError("no corpus given; pass --corpus PATH")
    named = open_tokenizers(tokenizers)
    measurers = [Measurer(n) for n in named]
    stats = {name: ReadStats() for name in corpora}
    # a file named twice in one corpus is read once
    files = {name: list(dict.fromkeys(iter_files(paths, stats[name]))) for name, paths in corpora.items()}
    planned = {name: _planned_bytes(files[name], config) for name in corpora}
    task = progress.task("analyzing", total=sum(planned.values()))
    results: list[Result] = []
    corpus_info: list[dict[str, Any]] = []
    for corpus, paths in corpora.items():
        corpus_text = TextTally()
        corpus_tokens = [m.empty() for m in measurers]
        file_results: list[Result] = []
        seen: list[str] = []
        # files arrive one after the other, so a file's tallies are dropped once it is reported:
        # memory stays one histogram per tokenizer (plus one per file being read with --by-file)
        file_text: TextTally | None = None
        file_tokens: list[TokenTally] = []
        done = 0
        batches = _batches(_sample(files[corpus], config, stats[corpus]), config.batch_bytes)
        for source, batch_text, tallies in measure_batches(measurers, batches):
            if not seen or seen[-1] != source:
                if file_text is not None:
                    file_results += _results(measurers, corpus, seen[-1], file_text, file_tokens)
                seen.append(source)
                file_text = TextTally() if config.by_file else None
                file_tokens = [m.empty() for m in measurers] if config.by_file else []
            corpus_text.add(batch_text)
            for total, tally in zip(corpus_tokens, tallies, strict=True):
                total.add(tally)
            if file_text is not None:
                file_text.add(batch_text)
                for total, tally in zip(file_tokens, tallies, strict=True):
                    total.add(tally)
            task.advance(batch_text.bytes)
            done += batch_text.bytes
        if file_text is not None:
            file_results += _results(measurers, corpus, seen[-1], file_text, file_tokens)
        task.advance(max(0, planned[corpus] - done))
        if not corpus_text.documents:
            shown = ", ".join(map(str, paths))
            raise InputError(
                f"{shown}: no text to analyze (empty, binary or blank files); pass a corpus with text"
            )
        corpus_info.append({
            "name": corpus,
            "paths": [str(p) for p in paths],
            "files": seen,
            "documents": corpus_text.documents,
            "bytes": corpus_text.bytes,
            "sampled": config.max_bytes is not None,
        })
        results += _results(measurers, corpus, None, corpus_text, corpus_tokens)
        results += file_results
    tokenizer_info = [
        {
            "name": m.named.name,
            "spec": m.named.spec,
            "kind": getattr(m.tokenizer, "kind", type(m.tokenizer).__name__),
            "vocab_size": m.tokenizer.vocab_size,
            "byte_fallback": m.table.byte_fallback,
        }
        for m in measurers
    ]
    return Report(config=config, tokenizers=tokenizer_info, corpora=corpus_info, results=results)


def _results(measurers: Sequence[Measurer], corpus: str, file: str | None, text: TextTally,
             tallies: Sequence[TokenTally]) -> list[Result]:
    """One result per tokenizer on the same text, ratios against the first."""
    out: list[Result] = []
    base: dict[str, Any] | None = None
    for m, tally in zip(measurers, tallies, strict=True):
        figs = figures(text, tally, m.table, m.tokenizer.vocab_size)
        out.append(Result(m.named.name, corpus, file, figs, None if base is None else versus(figs, base)))
        base = base or figs
    return out


def measure_texts(
    tokenizers: Sequence[str | Path | Tokenizer], texts: Sequence[str]
) -> list[dict[str, Any]]:
    """The figures of each tokenizer on in-memory ``texts`` (each one document), in one batch."""
    texts = list(texts)
    encoded = [t.encode("utf-8") for t in texts]
    text = text_tally(texts, encoded)
    out = []
    for named in open_tokenizers(tokenizers):
        m = Measurer(named)
        out.append(figures(text, m.measure(texts, encoded), m.table, named.tokenizer.vocab_size))
    return out


def _planned_bytes(files: Sequence[Path], config: AnalyzeConfig) -> int:
    size = sum(p.stat().st_size for p in files)
    return size if config.max_bytes is None else min(size, config.max_bytes)
