"""Shared fixtures: the real corpora in ``../shared`` (skipped with a reason where absent)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("TOKKIT_SHARED", ROOT.parent / "shared"))


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never write into the user's ~/.cache (corpus verification stamps, downloads)."""
    monkeypatch.setenv("TOKKIT_CACHE", str(tmp_path_factory.getbasetemp() / "tokkit-cache"))


TEST_COLUMNS = 200
"""The terminal width every test renders at: rich wraps tables at the width, so a test reading
rendered output would otherwise depend on the terminal CI or a developer happens to run in."""


@pytest.fixture(scope="session", autouse=True)
def _pinned_terminal() -> Iterator[None]:
    """One width for rich: in this process, and in the subprocesses tests start (they inherit it).

    ``tokkit.progress.console`` read ``COLUMNS`` once, when the test modules imported it, so it is
    pinned itself; consoles made later (``Console()`` in a command) read the pinned environment.
    """
    from tokkit.progress import console

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COLUMNS", str(TEST_COLUMNS))
        patch.setenv("LINES", "50")
        patch.setattr(console, "width", TEST_COLUMNS)
        yield


@pytest.fixture(autouse=True)
def _restore_tokkit_logger() -> Iterator[None]:
    """In-process CLI runs configure the ``tokkit`` logger (level, handlers, no propagation); put it
    back as the library leaves it after every test. (Back to the state the test started with is not
    enough: a module-scoped fixture that ran the CLI is set up before this fixture saves anything,
    and left propagation off for every later test, so ``caplog`` saw nothing: seen with pytest 8.0.)"""
    yield
    logger = logging.getLogger("tokkit")
    logger.setLevel(logging.NOTSET)
    logger.handlers.clear()
    logger.propagate = True


@pytest.fixture(scope="session")
def shared() -> Path:
    """``../shared`` beside the project: real corpora and the LLaMA tokenizer."""
    if not (SHARED / "corpora").is_dir():
        pytest.skip(f"real corpora not found at {SHARED} (set TOKKIT_SHARED to the shared folder)")
    return SHARED


@pytest.fixture(scope="session")
def corpora(shared: Path) -> Path:
    return shared / "corpora"


@pytest.fixture(scope="session")
def heldout(corpora: Path) -> Path:
    return corpora / "heldout"


def shared_fixture(shared: Path, relative: str, what: str) -> Path:
    """``shared / fixtures / relative``, or skip the test saying which ``what`` is missing where."""
    path = shared / "fixtures" / relative
    if not path.is_file():
        pytest.skip(f"{what} not found at {path}")
    return path


@pytest.fixture(scope="session")
def llama_model(shared: Path) -> Path:
    return shared_fixture(shared, "llama/tokenizer.model", "LLaMA tokenizer")


@pytest.fixture(scope="session")
def mistral_v3_model(shared: Path) -> Path:
    """Mistral's v3 sentencepiece model: LLaMA-like, 32,768 pieces, 20 user-defined ones."""
    return shared_fixture(shared, "mistral/tokenizer.model.v3", "Mistral v3 tokenizer")


@pytest.fixture(scope="session")
def llama3_model(shared: Path) -> Path:
    """Llama 3's tiktoken rank file (``tokenizer.model``, beside its ``tokenizer.json``)."""
    return shared_fixture(shared, "llama3/tokenizer.model", "Llama 3 tokenizer")


@pytest.fixture(scope="session")
def tekken_file(shared: Path) -> Path:
    """Mistral's Tekken json (a byte-level vocabulary)."""
    return shared_fixture(shared, "mistral/tekken_240911.json", "Tekken json")
