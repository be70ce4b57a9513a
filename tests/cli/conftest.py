"""What the CLI tests share: running tokkit as a user would, a corpus, one check of a clean failure,
and every hostile input the tests use.

Helpers come as fixtures (``run``, ``run_main``, ``assert_clean_failure``, ``make_corpus``,
``start_locked``, ``train_cli``, ``byte_level_bpe``, ``tiny_cpt_assets``, ``tiny_pipeline_toml``,
``hostile_input``) so that test modules never import from one
another or from this file.
"""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tokkit.atomic import TMP_PREFIX, lock_path
from tokkit.cli import main
from tokkit.shards.writer import partial_dir


def _byte_level_bpe(texts: list[str], directory: Path) -> Path:
    """A 300-token GPT-2 style byte-level BPE trained on ``texts`` with an ``<|endoftext|>``
    special (what shard and cpt need), saved as ``directory/tokenizer.json``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(texts, trainers.BpeTrainer(
        vocab_size=300, special_tokens=["<|endoftext|>"], show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    directory.mkdir(parents=True, exist_ok=True)
    tok.save(str(directory / "tokenizer.json"))
    return directory


@pytest.fixture(scope="session")
def byte_level_bpe() -> Callable[[list[str], Path], Path]:
    return _byte_level_bpe


def _tiny_cpt_assets(root: Path) -> dict[str, Any]:
    """Under ``root``: a small byte-level BPE (``tok``), shards of 16 tokens made with it, and a
    tiny LLaMA of its vocabulary carrying its tokenizer (``model``); ``vocab_size`` too."""
    from tokenizers import Tokenizer

    from tokkit.llama.tiny import build_tiny_llama
    from tokkit.shards import ShardConfig, write_shards

    texts = [f"line {i} says hello to the {['sea', 'sky', 'hill'][i % 3]}" for i in range(400)]
    tok_dir = _byte_level_bpe(texts, root / "tok")
    (root / "c.txt").write_text("\n".join(texts), encoding="utf-8")
    write_shards([root / "c.txt"], tok_dir, root / "shards",
                 config=ShardConfig(seq_len=16, val_fraction=0.1, workers=1))
    vocab_size = Tokenizer.from_file(str(tok_dir / "tokenizer.json")).get_vocab_size()
    build_tiny_llama(root / "model", vocab_size=vocab_size, max_position_embeddings=64)
    shutil.copy2(tok_dir / "tokenizer.json", root / "model" / "tokenizer.json")
    return {"tok": tok_dir, "shards": root / "shards", "model": root / "model", "vocab_size": vocab_size}


@pytest.fixture(scope="session")
def tiny_cpt_assets() -> Callable[[Path], dict[str, Any]]:
    return _tiny_cpt_assets


TINY_PIPELINE = """
sample_mb = 0.2
[train]
vocab_size = 400
[extend]
zh_vocab = 4000
[analyze]
max_mb = 0.02
[model]
hidden_size = 32
[shard]
seq_len = 32
val_fraction = 0.05
[cpt]
steps = 4
batch_tokens = 128
micro_batch = 4
eval_every = 2
eval_sequences = 4
save_every = 2
"""
"""The smallest pipeline that runs every stage (a few seconds a stage)."""


def _tiny_pipeline_toml(path: Path, corpora: Path, heldout: Path, llama: Path, run_dir: Path | None = None) -> Path:
    """:data:`TINY_PIPELINE` on the sample en + zh corpora, written to ``path`` (its run dir from
    ``run_dir``, else from the command's ``-o``)."""
    head = f'run_dir = "{run_dir}"\n' if run_dir is not None else ""
    inputs = (f'corpora = ["{corpora / "en"}", "{corpora / "zh"}"]\nheldout = ["{heldout}"]\n'
              f'llama_tokenizer = "{llama}"\n')
    path.write_text(head + inputs + TINY_PIPELINE, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def tiny_pipeline_toml() -> Callable[..., Path]:
    return _tiny_pipeline_toml


GOOD = "It was the best of times, it was the worst of times.\n话说天下大势，分久必合，合久必分。\n"
"""Two lines of English and Chinese; the train-* tests repeat them to make a corpus."""

Proc = subprocess.CompletedProcess[str]


def _run(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> Proc:
    code = "from tokkit.cli import main; main()"  # the real entry point: it owns the process
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


@pytest.fixture
def run() -> Callable[..., Proc]:
    """The real console entry point in a subprocess: exit codes and stderr as a user sees them.

    ``run(*args, env=None)`` returns the :class:`subprocess.CompletedProcess`.
    """
    return _run


@pytest.fixture
def run_main(capsys: pytest.CaptureFixture[str]) -> Callable[..., Proc]:
    """``tokkit.cli.main`` in this process (faster than a subprocess), same exit code and streams."""

    def call(*args: str) -> Proc:
        code = 0
        try:
            main(list(args))
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else int(exit_.code is not None)
        captured = capsys.readouterr()
        return subprocess.CompletedProcess(list(args), code, captured.out, captured.err)

    return call


def _assert_clean_failure(proc: Proc, *needles: str, code: int | None = None,
                          output: Path | None = None) -> str:
    assert proc.returncode != 0, proc.stderr
    if code is not None:
        assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr  # one line (a progress bar or warnings may precede it)
    assert proc.stderr.rstrip().splitlines()[-1] == errors[0], proc.stderr  # and it is said last
    for needle in needles:
        assert needle in errors[0], proc.stderr
    assert proc.stdout == "", proc.stdout
    if output is not None:
        assert not output.exists(), f"{output} was written"
        assert not list(output.parent.glob(f"{TMP_PREFIX}*")), "a temporary output was left behind"
        assert not partial_dir(output).exists(), "the shard writer's partial output was left behind"
        assert not list(output.parent.glob(f".{output.name}.*")), "a lock, partial or old copy was left behind"
    return errors[0]


@pytest.fixture
def assert_clean_failure() -> Callable[..., str]:
    """Check that a run failed as a user should see it; return its ``error:`` line.

    ``assert_clean_failure(proc, *needles, code=None, output=None)``: a non-zero exit code
    (``code`` exactly, if given), no traceback, exactly one ``error:`` line on stderr, said last and
    holding every needle, nothing on stdout, and (given ``output``) nothing written there, not even
    a temporary.
    """
    return _assert_clean_failure


@pytest.fixture
def make_corpus(tmp_path: Path) -> Callable[..., Path]:
    """``make_corpus(repeats)``: a folder holding one file of :data:`GOOD` repeated."""

    def make(repeats: int = 40) -> Path:
        path = tmp_path / "corpus" / "a.txt"
        path.parent.mkdir()
        path.write_text(GOOD * repeats, encoding="utf-8")
        return path.parent

    return make


@pytest.fixture
def corpus(make_corpus: Callable[..., Path]) -> Path:
    """A small corpus folder (80 lines) the train-* commands learn a tokenizer from."""
    return make_corpus(40)


def _start_locked(args: list[str], output: Path, *, capture: bool = False) -> subprocess.Popen[str]:
    """Start ``tokkit *args`` in a subprocess and return once it holds ``output``'s lock (or has
    ended, or 120 s passed: the caller checks). ``capture`` keeps its stdout/stderr to read."""
    code = "import sys; from tokkit.cli import main; main(sys.argv[1:])"
    out = subprocess.PIPE if capture else subprocess.DEVNULL
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=out, stderr=out, text=True)
    lock = lock_path(output)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if lock.read_text().strip() == str(proc.pid):
                break
        except FileNotFoundError:
            pass
        time.sleep(0.002)
    return proc


@pytest.fixture
def start_locked() -> Callable[..., subprocess.Popen[str]]:
    """``start_locked(args, output, capture=False)``: a tokkit run that holds ``output``'s lock."""
    return _start_locked


def _train_cli(algorithm: str, corpus: Path, vocab: int, backend: str, out: Path) -> dict[str, Any]:
    """``tokkit train-<algorithm> CORPUS --vocab N --backend B -o OUT`` in-process: it succeeds,
    prints the run's table, and its ``tokkit.json`` names the pair; returns that record."""
    from click.testing import CliRunner

    from tokkit.cli import cli
    from tokkit.load import read_meta

    result = CliRunner().invoke(cli, [f"train-{algorithm}", str(corpus), "--vocab", str(vocab),
                                      "--backend", backend, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "chars/token" in result.output and "peak memory" in result.output
    meta = read_meta(out)
    assert meta["algorithm"] == algorithm and meta["backend"] == backend
    return meta


@pytest.fixture
def train_cli() -> Callable[..., dict[str, Any]]:
    """``train_cli(algorithm, corpus, vocab, backend, out)``: a checked train-* run, its record."""
    return _train_cli


# --- hostile inputs ------------------------------------------------------------------------------
# Every hostile corpus the tests use, in one list: what a careful user's CI throws at tokkit. The
# reader tests (tests/corpus/test_readers.py), the command tests here and the dedup tests each check
# one of these for their own exact message; test_hostile_inputs.py runs all of them through every
# command that reads a corpus.

_HAN = [chr(0x4E00 + 7 * i) for i in range(60)]
_WORDS = ["the", "best", "of", "times", "worst", "age", "wisdom", "folly", "epoch", "belief", "incredulity", "season", "light", "darkness"]
RICH = "".join("".join(_HAN[(31 * i + 17 * j) % 60] for j in range(30)) + "\n"
               + " ".join(_WORDS[(5 * i + 3 * j) % len(_WORDS)] for j in range(12)) + "\n" for i in range(60))
"""Usable text: 60 Han characters and 14 words, enough for every command's small settings."""


@dataclass(frozen=True)
class HostileInput:
    """``corpus`` is what the command is given; an error about it must name ``names``.
    ``usable``: the input holds text a command may succeed on (then exit 0 is right too)."""

    name: str
    corpus: str
    names: str
    usable: bool


def _file(root: Path, name: str, data: bytes) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _folder(root: Path, files: dict[str, bytes]) -> Path:
    folder = root / "corpus"
    folder.mkdir(parents=True)
    for name, data in files.items():
        _file(folder, name, data)
    return folder


def _parquet(path: Path, columns: dict[str, list[object]]) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(columns), path)
    return path


Builder = Callable[[Path], tuple[Path | str, Path | str, bool]]
"""``root -> (corpus, the path an error names, usable)``."""


def _one(name: str, data: bytes, usable: bool = False) -> Builder:
    def build(root: Path) -> tuple[Path | str, Path | str, bool]:
        path = _file(root, name, data)
        return path, path, usable

    return build


def _in_folder(files: dict[str, bytes], culprit: str | None, usable: bool = False) -> Builder:
    """A folder holding ``files``; an error names ``culprit`` inside it (None: the folder)."""

    def build(root: Path) -> tuple[Path | str, Path | str, bool]:
        folder = _folder(root, files)
        return folder, folder / culprit if culprit else folder, usable

    return build


def _huge_line(root: Path) -> tuple[Path | str, Path | str, bool]:
    """A 2 MiB line of words between good lines: big, under every default cap (the 100 MB line
    is the scale issue's, see benchmarks/bench_shard_long.py)."""
    words = " ".join(f"word{i % 5000}" for i in range(240_000)).encode()[: 2 << 20]
    path = _file(root, "huge_line.txt", RICH.encode() + words + b"\n" + RICH.encode())
    return path, path, True


def _late_bad_byte(root: Path) -> tuple[Path | str, Path | str, bool]:
    """Invalid UTF-8 past the reader's first 1 MiB chunk: met while a trainer is consuming."""
    body = "".join(f"hello world number {i} and more words\n" for i in range(40_000)).encode()
    path = _file(root, "late_bad_byte.txt", body + b"caf\xe9\n")
    return path, path, False


def _nul_mid_file(root: Path) -> tuple[Path | str, Path | str, bool]:
    head = RICH.encode()  # past the 8 KiB sniff, so the file is not called binary
    path = _file(root, "nul_mid_file.txt", head + b"bad\x00line\nok\n\x00\n")
    return path, path, True


def _truncated(suffix: str) -> Builder:
    def build(root: Path) -> tuple[Path | str, Path | str, bool]:
        data = "".join(f"line number {i} {GOOD}" for i in range(5000)).encode()
        if suffix == ".gz":
            packed = gzip.compress(data)
        else:
            import zstandard

            packed = zstandard.ZstdCompressor().compress(data)
        path = _file(root, f"truncated.txt{suffix}", packed[: len(packed) // 2])
        return path, path, False

    return build


def _parquet_case(kind: str) -> Builder:
    def build(root: Path) -> tuple[Path | str, Path | str, bool]:
        if kind == "no_text_column":
            path = _parquet(root / "body.parquet", {"body": ["a b c", "d e f"], "n": [1, 2]})
        elif kind == "int_column":
            path = _parquet(root / "ints.parquet", {"text": [1, 2, 3]})
        else:
            good = _parquet(root / "good" / "t.parquet", {"text": [GOOD] * 20})
            data = good.read_bytes()
            if kind == "truncated":
                path = _file(root, "broken.parquet", data[:40])
            else:  # gzip-compressed parquet: needs random access
                path = _file(root, "t.parquet.gz", gzip.compress(data))
            good.unlink()
            good.parent.rmdir()
        return path, path, False

    return build


def _broken_symlink(root: Path) -> tuple[Path | str, Path | str, bool]:
    folder = _folder(root, {"a.txt": GOOD.encode() * 5})
    (folder / "b.txt").symlink_to(folder / "gone.txt")
    return folder, folder / "b.txt", False


def _symlink_loop(root: Path) -> tuple[Path | str, Path | str, bool]:
    """``a.txt -> b.txt -> a.txt`` beside a good file, and a folder linking to itself."""
    folder = _folder(root, {"good.txt": GOOD.encode() * 5})
    (folder / "a.txt").symlink_to(folder / "b.txt")
    (folder / "b.txt").symlink_to(folder / "a.txt")
    (folder / "self").symlink_to(folder, target_is_directory=True)
    return folder, folder / "a.txt", False


def _fifo(root: Path) -> tuple[Path | str, Path | str, bool]:
    """A named pipe in a corpus folder: opening it to read waits for a writer forever."""
    folder = _folder(root, {"good.txt": RICH.encode()})
    os.mkfifo(folder / "pipe.txt")
    return folder, folder / "pipe.txt", True


def _unreadable(root: Path) -> tuple[Path | str, Path | str, bool]:
    path = _file(root, "secret.txt", GOOD.encode() * 5)
    path.chmod(0)
    return path, path, False


def _missing(root: Path) -> tuple[Path | str, Path | str, bool]:
    path = root / "missing.txt"
    return path, path, False


def _glob_nothing(root: Path) -> tuple[Path | str, Path | str, bool]:
    pattern = f"{root}/*.jsonl"
    return pattern, pattern, False


def _empty_folder(root: Path) -> tuple[Path | str, Path | str, bool]:
    folder = root / "corpus"
    folder.mkdir()
    return folder, folder, False


def _deep_json(root: Path) -> tuple[Path | str, Path | str, bool]:
    """A record nested 100,000 deep: Python's json gives up with RecursionError."""
    depth = 100_000
    path = _file(root, "deep.jsonl", b'{"text": "ok"}\n' + b"[" * depth + b"]" * depth + b"\n")
    return path, path, False


BUILDERS: dict[str, Builder] = {
    "empty_file": _one("empty.txt", b""),
    "whitespace_only": _one("blank.txt", b"\n\n   \n\t\n"),
    "binary_nul": _one("blob.txt", b"\x00\x01\x02binary\x00" * 100),
    "binary_zip_magic": _one("archive.txt", b"PK\x03\x04\x00\x00binary"),
    "utf16": _one("utf16.txt", ("hello world\n" * 20).encode("utf-16")),
    "invalid_utf8": _one("bad.txt", b"good line\nbad \xff byte\n"),
    "invalid_utf8_late": _late_bad_byte,
    "latin1": _one("latin1.txt", "café crème brûlée\n".encode("latin-1") * 20),
    "nul_mid_file": _nul_mid_file,
    "crlf": _one("crlf.txt", RICH.replace("\n", "\r\n").encode(), usable=True),
    "bom_no_final_newline": _one("bom.txt", ("\ufeff" + RICH).rstrip("\n").encode(), usable=True),
    "huge_line": _huge_line,
    "jsonl_unterminated": _one("bad.jsonl", b'{"text": "ok"}\n{"text": "unterminated\n'),
    "jsonl_missing_field": _one("field.jsonl", b'{"text": "ok"}\n{"body": "x", "id": 3}\n'),
    "jsonl_number_field": _one("num.jsonl", b'{"text": 5}\n'),
    "jsonl_list_record": _one("list.jsonl", b"[1, 2]\n"),
    "jsonl_invalid_utf8": _one("u.jsonl", b'{"text": "ok"}\n{"text": "b\xffd"}\n'),
    "jsonl_deep_nesting": _deep_json,
    "json_truncated_array": _one("c.json", b'[{"text": "x"},'),
    "json_broken_object": _one("b.json", b'{\n  "text": "a",\n  oops\n}\n'),
    "parquet_truncated": _parquet_case("truncated"),
    "parquet_no_text_column": _parquet_case("no_text_column"),
    "parquet_int_column": _parquet_case("int_column"),
    "parquet_gzipped": _parquet_case("gzipped"),
    "gz_truncated": _truncated(".gz"),
    "zst_truncated": _truncated(".zst"),
    "gz_not_compressed": _one("plain.txt.gz", GOOD.encode() * 10),
    "empty_folder": _empty_folder,
    "only_empty_and_binary": _in_folder({"empty.txt": b"", "blob.txt": b"\x00\x01\x02binary\x00" * 100}, None),
    "only_unsupported": _in_folder({"image.png": b"\x89PNG\r\n\x1a\n"}, None),
    "broken_symlink": _broken_symlink,
    "symlink_loop": _symlink_loop,
    "fifo_in_folder": _fifo,
    "unreadable_file": _unreadable,
    "missing_path": _missing,
    "glob_matching_nothing": _glob_nothing,
}


def build(name: str, root: Path) -> HostileInput:
    """Make hostile input ``name`` under ``root`` (an empty folder)."""
    corpus, names, usable = BUILDERS[name](root)
    return HostileInput(name=name, corpus=str(corpus), names=str(names), usable=usable)


@pytest.fixture(params=sorted(BUILDERS))
def hostile_input(request: pytest.FixtureRequest, tmp_path: Path) -> HostileInput:
    """Each hostile input in turn, built under ``tmp_path / "input"``."""
    name: str = request.param
    if name == "unreadable_file" and os.geteuid() == 0:
        pytest.skip("running as root: file permissions are not enforced")
    root = tmp_path / "input"
    root.mkdir()
    corpus, names, usable = BUILDERS[name](root)
    return HostileInput(name=name, corpus=str(corpus), names=str(names), usable=usable)
