"""``tokkit dedup`` through the real CLI: output, table, errors as one line."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from tokkit.cli import cli


def _corpus(root: Path) -> Path:
    root.mkdir()
    para = " ".join(f"word{i}" for i in range(60))
    (root / "a.txt").write_text(para + "\n", encoding="utf-8")
    (root / "b.txt").write_text(para.replace("word30", "changed") + "\n", encoding="utf-8")
    (root / "c.txt").write_text("Nothing alike here at all.\n", encoding="utf-8")
    return root


def test_help_has_an_example() -> None:
    result = CliRunner().invoke(cli, ["dedup", "--help"])
    assert result.exit_code == 0
    assert "tokkit dedup corpus/ -o" in result.output and "--threshold" in result.output


def test_run_writes_kept_files_and_prints_the_table(tmp_path: Path) -> None:
    src = _corpus(tmp_path / "in")
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["dedup", str(src), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["a.txt", "c.txt", "manifest.json", "removed.jsonl"]
    row = json.loads((out / "removed.jsonl").read_text())
    assert row["id"].endswith("b.txt") and row["kept"].endswith("a.txt") and row["reason"] == "near"
    assert "removed: near" in result.output and str(out) in result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["threshold"] == 0.8 and manifest["counts"]["kept"] == 2


def test_existing_output_is_one_line_error(tmp_path: Path, run_main, assert_clean_failure) -> None:  # type: ignore[no-untyped-def]
    src = _corpus(tmp_path / "in")
    out = tmp_path / "out"
    out.mkdir()
    (out / "x").write_text("x")
    assert_clean_failure(run_main("dedup", str(src), "-o", str(out)), "already exists", "--force")
    assert_clean_failure(run_main("dedup", str(src), "-o", str(out), "--force"), "not a tokkit output")
    assert (out / "x").read_text() == "x"  # --force never deletes a folder tokkit did not write
    (out / "x").unlink()
    assert CliRunner().invoke(cli, ["-q", "dedup", str(src), "-o", str(out)]).exit_code == 0
    (out / "removed.jsonl").write_text("stale")
    ok = CliRunner().invoke(cli, ["-q", "dedup", str(src), "-o", str(out), "--force"])
    assert ok.exit_code == 0 and (out / "removed.jsonl").read_text() != "stale"


def test_force_never_replaces_the_corpus(tmp_path: Path, run_main, assert_clean_failure) -> None:  # type: ignore[no-untyped-def]
    """`dedup c -o c --force` replaced the corpus by its deduplicated copy (issue 12.2)."""
    src = _corpus(tmp_path / "c")
    before = {p: p.read_bytes() for p in src.rglob("*")}
    for output in (src, src / "out", tmp_path):
        line = assert_clean_failure(run_main("dedup", str(src), "-o", str(output), "--force"), "outside every input")
        assert str(src) in line
    assert {p: p.read_bytes() for p in src.rglob("*")} == before


def test_errors_through_main(tmp_path: Path, run_main, assert_clean_failure) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "latin.txt").write_bytes("caf\xe9 cr\xe8me br\xfbl\xe9e\n".encode("latin-1"))
    cases = [
        ([str(tmp_path / "missing"), "-o", str(tmp_path / "o1")], "no such file"),
        ([str(tmp_path / "latin.txt"), "-o", str(tmp_path / "o2")], "latin1"),
        ([str(tmp_path / "latin.txt"), "-o", str(tmp_path / "o3"), "--threshold", "2"], "threshold"),
        ([str(tmp_path / "latin.txt"), "-o", str(tmp_path / "o3"), "--bands", "3"], "--rows"),
    ]
    for args, needle in cases:
        out = Path(args[args.index("-o") + 1])
        assert_clean_failure(run_main("dedup", *args), needle, code=2, output=out)
    assert not any(p.name.startswith("o") for p in tmp_path.iterdir())
    ok = run_main("-q", "dedup", str(tmp_path / "latin.txt"), "-o", str(tmp_path / "o4"),
                  "--encoding-errors", "latin1")
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "o4" / "latin.txt").read_text(encoding="utf-8") == "café crème brûlée\n"
