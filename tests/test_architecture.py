"""Dependencies flow one way (docs/architecture.md): a package imports only the shared core and
packages of a lower rank, never its own rank or above. The known exceptions are listed by name
(issue 15.6) so that a new one fails here instead of growing silently; one that is fixed is struck
from the list and from the doc."""

from __future__ import annotations

import ast
from pathlib import Path

import tokkit

PACKAGE = Path(tokkit.__file__).parent

RANK = {
    "corpus": 0,
    "dedup": 1, "models": 1,
    "train": 2,
    "backends": 3,
    "analyze": 4, "llama": 4, "shards": 4,
    "cpt": 5,
    "engines": 6, "pipeline": 6,
    "cli": 7,
}
"""Lower ranks never import higher ones (docs/architecture.md, "Layers")."""

CORE = {"errors", "types", "vocab_bytes", "atomic", "batches", "han", "progress", "progress_bars", "pool", "resources", "settings",
        "load"}
"""Modules any layer may import; they import only each other (``load`` names its classes as
``module:Class`` strings and imports them when a tokenizer is opened)."""

KNOWN_EXCEPTIONS: dict[tuple[str, str], str] = {}
"""(package, package it may import against the ranks): why. Empty since issue 15.6 moved the split
patterns to ``models/pretokenize.py``, the official tiktoken definitions to ``models/bpe_ranks.py``
and the CJK predicate to ``corpus/cjk.py``; a new entry needs a reason and a line in the doc."""


def imports() -> set[tuple[str, str, str]]:
    """(importing package or core module, imported one, where) for every tokkit import, also the
    ones inside functions."""
    found = set()
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE)
        source = rel.parts[0].removesuffix(".py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                parts = name.split(".")
                if parts[0] == "tokkit" and len(parts) > 1 and parts[1] != source:
                    found.add((source, parts[1], f"{rel}:{node.lineno}"))
    return found


def test_dependencies_flow_one_way() -> None:
    wrong = []
    for source, target, where in sorted(imports()):
        if source in ("__init__", "__main__") or target in CORE:
            continue
        if source in CORE:
            if source != "load":  # the registries may open what they name
                wrong.append(f"{where}: core module {source} imports {target}")
            continue
        if target not in RANK or source not in RANK:
            wrong.append(f"{where}: {source} → {target}: give the new package a rank in "
                         "docs/architecture.md and RANK")
        elif RANK[target] >= RANK[source] and (source, target) not in KNOWN_EXCEPTIONS:
            wrong.append(f"{where}: {source} (rank {RANK[source]}) imports {target} "
                         f"(rank {RANK[target]})")
    assert not wrong, "\n".join(wrong)


def test_the_rank_table_covers_every_package() -> None:
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert packages == set(RANK) - {"pipeline"}


def test_trainers_do_not_import_the_run_module() -> None:
    """``train/run.py`` drives a training run (corpus → trainer → output dir); the trainers sit
    below it and take their helpers from modules of their own (``train/joined.py``)."""
    wrong = []
    for path in sorted((PACKAGE / "train").rglob("*.py")):
        if path.name == "run.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.ImportFrom) and node.module == "tokkit.train.run") or \
                    (isinstance(node, ast.Import) and any(a.name == "tokkit.train.run" for a in node.names)):
                wrong.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert not wrong, "trainers import the run module: " + ", ".join(wrong)
