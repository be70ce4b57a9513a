"""The library speaks Python (issue 15.4): no module under ``tokkit/`` but ``tokkit/cli/`` names a flag.

A message names the argument a caller passes (```vocab_size=258```, ```force=True```);
``tokkit/cli/flags.py`` prints the running command's flag instead. A flag in the library is wrong twice:
a Python caller has no ``--vocab``, and the CLI command that ran may not have it either.
"""

from __future__ import annotations

import ast
import re
import tokenize
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "tokkit"

FLAG = re.compile(r"(?<![\w\-^])(--[a-z][a-z0-9-]*|-[a-zA-Z])(?![\w-])")
"""``--name`` or ``-o``, not inside a word (``utf-8``), an expression (``BASE^-i``) or a range."""

NOT_OURS = {
    ("__main__.py", "python -m tokkit"): "python's flag, in the docstring saying how to run the CLI",
    ("cpt/train.py", "torchrun --nproc-per-node N -m tokkit"): "torchrun's and python's flags",
    ("engines/ray_runtime.py", "ray start --head"): "the ray command's flag, how to start a cluster",
}
"""(module, text around the match) → why that text names another program's flag, not tokkit's."""


def _texts(path: Path) -> list[tuple[int, str]]:
    """Every string literal (docstrings, f-string parts) and comment in ``path``, with its line."""
    source = path.read_text(encoding="utf-8")
    texts = [(node.lineno, node.value) for node in ast.walk(ast.parse(source))
             if isinstance(node, ast.Constant) and isinstance(node.value, str)]
    with path.open("rb") as stream:
        texts += [(tok.start[0], tok.string) for tok in tokenize.tokenize(stream.readline)
                  if tok.type == tokenize.COMMENT]
    return texts


def flag_mentions(package: Path = PACKAGE) -> list[str]:
    """``module:line: flag in text`` for each flag-like mention outside ``cli/`` not in NOT_OURS."""
    found = []
    for path in sorted(package.rglob("*.py")):
        module = path.relative_to(package).as_posix()
        if module.startswith("cli/"):
            continue
        for line, text in sorted(_texts(path)):
            for match in FLAG.finditer(text):
                around = text[max(0, match.start() - 40): match.end() + 40]
                if any(module == where and allowed in around for where, allowed in NOT_OURS):
                    continue
                found.append(f"{module}:{line}: {match.group(0)} in {around!r}")
    return found


def test_no_module_outside_the_cli_mentions_a_flag() -> None:
    found = flag_mentions()
    assert not found, ("the library names its arguments (`vocab_size=258`), the CLI maps them to flags "
                       "(tokkit/cli/flags.py):\n" + "\n".join(found))


def test_the_scan_finds_a_flag(tmp_path: Path) -> None:
    """The scan can fail: a message, a docstring and a comment with a flag are each found."""
    (tmp_path / "cli").mkdir()
    (tmp_path / "cli" / "ok.py").write_text('HELP = "use --vocab"\n')
    (tmp_path / "bad.py").write_text(
        '"""Read it with ``--split line``."""\n'
        'def f():\n'
        '    raise ValueError(f"{1}: choose another -o")  # or --force\n'
        'PATTERN = r"\\p{L}+|utf-8|BASE^-i"\n'
    )
    assert sorted(m.split(" in ")[0] for m in flag_mentions(tmp_path)) == [
        "bad.py:1: --split", "bad.py:3: --force", "bad.py:3: -o"]


def test_the_allowed_mentions_still_exist() -> None:
    """An entry of NOT_OURS whose text is gone is stale: strike it."""
    for module, text in NOT_OURS:
        assert text in (PACKAGE / module).read_text(encoding="utf-8"), (module, text)
