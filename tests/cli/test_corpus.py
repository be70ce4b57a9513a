"""`tokkit corpus get|list|info` as a user runs them (no network: downloads go to a dead proxy)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from tokkit.cli import cli


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A user environment with an empty cache, no mirror setting, and no way to the internet."""
    out = {k: v for k, v in os.environ.items() if k != "TOKKIT_CORPUS_MIRROR"}
    dead = "http://127.0.0.1:1"
    out.update(TOKKIT_CACHE=str(tmp_path / "cache"), https_proxy=dead, http_proxy=dead,
               HTTPS_PROXY=dead, HTTP_PROXY=dead, COLUMNS="200")
    out.pop("no_proxy", None)
    out.pop("NO_PROXY", None)
    return out


@pytest.fixture
def runner(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("TOKKIT_CORPUS_MIRROR", raising=False)
    return CliRunner()


def test_help_has_examples(runner: CliRunner) -> None:
    for args in (["corpus", "--help"], ["corpus", "get", "--help"], ["corpus", "list", "--help"],
                 ["corpus", "info", "--help"]):
        result = runner.invoke(cli, args)
        assert result.exit_code == 0 and "Example" in result.output, args


def test_get_prints_the_folder_and_a_summary(runner: CliRunner, corpora: Path) -> None:
    result = runner.invoke(cli, ["corpus", "get", "heldout", "--mirror", str(corpora)])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{corpora / 'heldout'}\n"
    assert "heldout: 2 files, 2.4 MB from mirror" in result.stderr
    assert "sha256 checked for 2 files now" in result.stderr
    again = runner.invoke(cli, ["corpus", "get", "heldout", "--mirror", str(corpora)])
    assert "sha256 checked earlier" in again.stderr
    verified = runner.invoke(cli, ["corpus", "get", "heldout", "--mirror", str(corpora), "--verify"])
    assert "sha256 checked for 2 files now" in verified.stderr
    quiet = runner.invoke(cli, ["-q", "corpus", "get", "heldout", "--mirror", str(corpora)])
    assert quiet.stdout == f"{corpora / 'heldout'}\n" and quiet.stderr == ""


def test_get_sample_is_one_folder_of_both(runner: CliRunner, corpora: Path,
                                          tmp_path: Path) -> None:
    result = runner.invoke(cli, ["corpus", "get", "sample", "--mirror", str(corpora),
                                 "--cache-dir", str(tmp_path / "c")])
    assert result.exit_code == 0, result.output
    folder = Path(result.stdout.strip())
    assert folder == tmp_path / "c" / "sample"
    assert sorted(p.name for p in folder.iterdir()) == ["en", "zh"]
    assert len(list((folder / "zh").iterdir())) == len(list((corpora / "zh").iterdir()))
    assert "sample = en + zh" in result.stderr


def test_list_and_info(runner: CliRunner, corpora: Path) -> None:
    result = runner.invoke(cli, ["corpus", "list", "--mirror", str(corpora)])
    assert result.exit_code == 0, result.output
    for name in ("en", "zh", "heldout", "neardup", "sample", "alias", "15.7 MB", "MIT"):
        assert name in result.stdout
    assert f"mirror: {corpora / 'zh'}" in result.stdout
    info = runner.invoke(cli, ["corpus", "info", "heldout"])
    assert info.exit_code == 0 and "heldout/en_dracula.txt" in info.stdout
    assert "867,184" in info.stdout


def test_list_without_any_local_copy(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["corpus", "list", "--mirror", str(tmp_path)])
    assert result.exit_code == 0
    assert result.stdout.count("not here") == 6
    assert result.stdout.count("a mirror only") == 1  # large/: no published file has its bytes


def test_offline_download_fails_with_one_line(env: dict[str, str], tmp_path: Path, run,  # type: ignore[no-untyped-def]
                                              assert_clean_failure) -> None:
    empty = tmp_path / "empty-mirror"
    empty.mkdir()
    result = run("corpus", "get", "heldout", "--mirror", str(empty), env=env)
    assert_clean_failure(result, "cannot download heldout/en_dracula.txt from https://raw.githubusercontent.com/",
                         "--mirror DIR", "TOKKIT_CORPUS_MIRROR", code=1)
    assert not any(p.is_file() and p.name != "verified.json"
                   for p in (tmp_path / "cache").rglob("*"))


def test_bad_names_and_paths(env: dict[str, str], tmp_path: Path, run, assert_clean_failure) -> None:  # type: ignore[no-untyped-def]
    result = run("corpus", "get", "fr", env=env)
    assert_clean_failure(result, "error: unknown corpus 'fr'; choose one of: en, zh, heldout, neardup, large, parallel, sample",
                         code=2)
    result = run("corpus", "get", "en", "--mirror", str(tmp_path / "nope"), env=env)
    assert_clean_failure(result, "is not a directory", code=2)
