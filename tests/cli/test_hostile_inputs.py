"""Every hostile input of the tests through every command that reads a corpus (issue 12).

For each (input, command): the exit code is 0 or 2 (a bad input), stderr holds no traceback, a
failure is one ``error:`` line naming the file (or folder, path, pattern) at fault, nothing is
left beside the output (no temp dir, ``.partial``, ``.lock`` or ``.old``; no output at all after
a failure) and the run takes under 60 s.

Each run is the real entry point (``tokkit.cli.main()``) in its own process, so exit codes and
streams are what a user sees. The processes are forked from one server that has imported tokkit,
its libraries and every command's module once, and built the tables a process caches: ~450 runs
at a second of imports each would be minutes of the suite, and 0.1-0.5 s each of first-use work
still doubled this file's time (122 s -> 75 s at load ~4 with the commands' modules and the
tables preloaded). Nothing the server loads starts a thread, so the forks are safe.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tokkit.atomic import TMP_PREFIX

TIME_LIMIT = 60.0

FORK_SERVER = r"""
import json, os, signal, sys, time, traceback
import tokkit.cli
# what the commands import on first use (each command's module, then the library behind it)
for module in (*(target.partition(":")[0] for target in tokkit.cli.COMMANDS.values()),
               "numpy", "pyarrow", "pyarrow.parquet", "tokenizers", "sentencepiece", "zstandard",
               "tokkit.cli.interrupt", "tokkit.cli.flags", "tokkit.train.run", "tokkit.train.bpe",
               "tokkit.train.unigram", "tokkit.train.wordpiece", "tokkit.backends.bpe",
               "tokkit.backends.unigram", "tokkit.dedup.pipeline", "tokkit.shards.writer", "tokkit.analyze",
               "tokkit.llama.extend", "tokkit.llama.bytelevel_extend", "tokkit.pipeline", "rich._emoji_codes"):
    try:
        __import__(module)
    except ImportError:
        pass
# the code point tables a process builds on first use and keeps (0.5-2 s each): analyze's
# script classes, dedup's shingle classes, WordPiece's normalizer
from tokkit.analyze.scripts import script_table
from tokkit.dedup.shingles import hash_shingles
from tokkit.models.wordpiece_normalize import bert_normalize
script_table(), hash_shingles(["warm up"]), bert_normalize("warm up")
print("ready", flush=True)
for line in sys.stdin:
    job = json.loads(line)
    sys.stdout.flush()
    sys.stderr.flush()
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        os.setsid()
        out = os.open(job["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        err = os.open(job["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(out, 1)
        os.dup2(err, 2)
        os.chdir(job["cwd"])
        sys.argv = ["tokkit", *job["argv"]]
        code = 0
        try:
            tokkit.cli.main()
        except SystemExit as exit_:
            if isinstance(exit_.code, int) or exit_.code is None:
                code = exit_.code or 0
            else:
                print(exit_.code, file=sys.stderr)
                code = 1
        except BaseException:
            traceback.print_exc()
            code = 1
        finally:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code)
    deadline = started + job["timeout"]
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.perf_counter() > deadline:
            os.killpg(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            status = -1
            break
        time.sleep(0.01)
    seconds = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status) if status != -1 else None
    print(json.dumps({"code": code, "seconds": seconds}), flush=True)
"""


class ForkServer:
    """Runs ``tokkit ARGS`` in a fresh process forked from a server that imported tokkit once."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", FORK_SERVER], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == "ready"

    def run(self, *args: str, cwd: Path, timeout: float = TIME_LIMIT) -> tuple[subprocess.CompletedProcess[str], float]:
        streams = cwd / ".streams"
        streams.mkdir(exist_ok=True)
        job = {"argv": list(args), "cwd": str(cwd), "timeout": timeout,
               "stdout": str(streams / "stdout"), "stderr": str(streams / "stderr")}
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(job) + "\n")
        self.proc.stdin.flush()
        result = json.loads(self.proc.stdout.readline())
        out, err = (streams / "stdout").read_text(), (streams / "stderr").read_text()
        code = result["code"] if result["code"] is not None else -9
        return subprocess.CompletedProcess(list(args), code, out, err), result["seconds"]

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def fork_server() -> Iterator[ForkServer]:
    server = ForkServer()
    yield server
    server.close()


@pytest.fixture(scope="module")
def resources(tmp_path_factory: pytest.TempPathFactory, shared: Path,
              byte_level_bpe: Callable[[list[str], Path], Path]) -> dict[str, str]:
    """A small byte-level BPE with an end-of-document token (for shard, analyze and as extend's
    base: Llama 3's 128k ranks take seconds to load each run), and the shared LLaMA tokenizer
    (for extend-llama and pipeline)."""
    directory = byte_level_bpe(["hello world", "你好世界"] * 20, tmp_path_factory.mktemp("tokenizer"))
    llama = shared / "fixtures" / "llama" / "tokenizer.model"
    if not llama.exists():
        pytest.skip(f"{llama} not found")
    return {"tokenizer": str(directory), "llama": str(llama)}


COMMANDS: dict[str, list[str]] = {
    "train-bpe-scratch": ["train-bpe", "{corpus}", "--vocab", "400", "--backend", "scratch", "-o", "{out}"],
    "train-bpe-hf": ["train-bpe", "{corpus}", "--vocab", "400", "--backend", "hf", "-o", "{out}"],
    "train-bpe-spm": ["train-bpe", "{corpus}", "--vocab", "400", "--backend", "spm", "-o", "{out}"],
    "train-wordpiece": ["train-wordpiece", "{corpus}", "--vocab", "300", "-o", "{out}"],
    "train-unigram": ["train-unigram", "{corpus}", "--vocab", "200", "-o", "{out}"],
    "train-unigram-spm": ["train-unigram", "{corpus}", "--vocab", "200", "--backend", "spm", "-o", "{out}"],
    "dedup": ["dedup", "{corpus}", "-o", "{out}"],
    "shard": ["shard", "{corpus}", "--tokenizer", "{tokenizer}", "-o", "{out}"],
    "analyze": ["analyze", "{tokenizer}", "-c", "{corpus}", "--json", "{out}"],
    "extend-llama": ["extend-llama", "--base", "{llama}", "--zh-corpus", "{corpus}", "--zh-vocab", "150",
                     "--no-compare", "-o", "{out}"],
    "extend": ["extend", "--base", "{tokenizer}/tokenizer.json", "--zh-corpus", "{corpus}", "--add", "20",
               "--no-compare", "--workers", "1", "-o", "{out}"],
    "pipeline": ["pipeline", "{config}"],
}
"""Every command that reads a corpus, at settings a small usable corpus trains with."""

PIPELINE = """run_dir = "{out}"
corpora = ["{corpus}"]
sample_mb = 0.05
llama_tokenizer = "{llama}"
"""


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_hostile_input_is_run_or_refused_in_one_line_leaving_nothing(  # type: ignore[no-untyped-def]
        command: str, hostile_input, fork_server: ForkServer, resources: dict[str, str], tmp_path: Path) -> None:
    if command == "pipeline" and hostile_input.usable:
        pytest.skip("a usable corpus runs the whole pipeline: tests/cli/test_pipeline.py (slow) and "
                    "benchmarks/bench_pipeline.py run it")
    runs = tmp_path / "runs"
    runs.mkdir()
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    out = runs / ("report.json" if command == "analyze" else "out")
    values = {**resources, "corpus": hostile_input.corpus, "out": str(out)}
    if command == "pipeline":
        config = tmp_path / "pipeline.toml"
        config.write_text(PIPELINE.format(**values), encoding="utf-8")
        values["config"] = str(config)
    argv = [arg.format(**values) for arg in COMMANDS[command]]
    proc, seconds = fork_server.run(*argv, cwd=cwd)
    where = f"tokkit {' '.join(argv)}\nexit {proc.returncode}\nstderr:\n{proc.stderr}"

    assert "Traceback" not in proc.stderr, where
    assert proc.returncode in (0, 2), where  # done, or a bad input (tokkit.errors.InputError)
    assert seconds < TIME_LIMIT, f"{seconds:.1f} s\n{where}"
    if proc.returncode == 2:
        errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, where
        assert proc.stderr.rstrip().splitlines()[-1] == errors[0], where  # said last
        # naming the file at fault (a usable corpus may fail as a whole: then naming it will do; the
        # pipeline's later stages read its own copies, e.g. when the sample cut off the bad part)
        named = hostile_input.names in errors[0] or (hostile_input.usable and hostile_input.corpus in errors[0])
        assert named or (command == "pipeline" and f"{out}/0" in errors[0] and "00-sample" not in errors[0]), where
        assert proc.stdout == "", where
    else:
        assert hostile_input.usable, f"an unusable input was accepted\n{where}"
    left = sorted(p.name for p in runs.iterdir())
    if proc.returncode == 0 or command == "pipeline":  # (a failed pipeline keeps its run dir to resume)
        assert left in ([], [out.name]), where
    else:
        assert left == [], f"left behind: {left}\n{where}"
    if command == "pipeline" and out.exists():
        assert not [p for p in out.rglob("*") if p.name.startswith((TMP_PREFIX, "."))
                    and p.name != ".tokkit-output"], where
