"""One ``Tokenizer`` contract (issue 15.1): every registered kind implements the whole protocol, and
no consumer switches on a backend's kind or reaches into a wrapper's library object (``.hf``,
``.sp``, ``.encoding``); consumers use the protocol's members only. Like tests/test_architecture.py
for imports, the second half reads the source, so a new switch fails here instead of growing."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

import tokkit
from tokkit.load import KINDS, tokenizer_class
from tokkit.types import Tokenizer

PACKAGE = Path(tokkit.__file__).parent

ADAPTERS = ("backends", "models")
"""Where the adapters live: the only code that may touch a library object or know its own kind."""
REGISTRY = {"load.py", "types.py", "vocab_bytes.py"}

LIBRARY_HANDLES = {"hf", "sp", "encoding"}
"""The attributes the adapters keep their library objects under."""
PROTOCOL = {"kind", "encode_batch", "decode_batch", "vocab_bytes", "token_bytes", *LIBRARY_HANDLES}
"""Names a consumer must not probe with ``getattr``/``hasattr``: they are declared (or private)."""
ADAPTER_CLASSES = {"HFTokenizer", "SPMTokenizer", "TiktokenTokenizer", "ByteLevelBPETokenizer",
                   "WordPieceTokenizer", "UnigramTokenizer"}


def consumers() -> list[Path]:
    return [p for p in sorted(PACKAGE.rglob("*.py"))
            if p.relative_to(PACKAGE).parts[0] not in ADAPTERS and p.name not in REGISTRY]


def _is_kind(node: ast.expr) -> bool:
    if (isinstance(node, ast.Attribute) and node.attr == "kind") or (isinstance(node, ast.Name) and node.id == "kind"):
        return True
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr"
            and len(node.args) > 1 and isinstance(node.args[1], ast.Constant) and node.args[1].value == "kind")


def _strings(node: ast.expr) -> set[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return {s for e in node.elts for s in _strings(e)}
    return set()


def switches(path: Path) -> list[str]:
    """Where ``path`` switches on a backend: compares a ``kind`` with a registered kind's name,
    reaches into ``.hf``/``.sp``/``.encoding``, probes a protocol member with getattr/hasattr, or
    asks isinstance of an adapter class."""
    where = path.relative_to(PACKAGE) if path.is_relative_to(PACKAGE) else path.name
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            named = {s for side in sides for s in _strings(side)} & set(KINDS)
            if any(_is_kind(side) for side in sides) and named:
                found.append(f"{where}:{node.lineno}: compares a kind with {sorted(named)}")
        elif isinstance(node, ast.Attribute) and node.attr in LIBRARY_HANDLES:
            found.append(f"{where}:{node.lineno}: reaches into .{node.attr}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            args = node.args
            if node.func.id in ("getattr", "hasattr") and len(args) > 1 and \
                    isinstance(args[1], ast.Constant) and args[1].value in PROTOCOL:
                found.append(f"{where}:{node.lineno}: {node.func.id}(…, {args[1].value!r})")
            if node.func.id == "isinstance" and len(args) > 1:
                classes = {n.id for n in ast.walk(args[1]) if isinstance(n, ast.Name)} | \
                    {n.attr for n in ast.walk(args[1]) if isinstance(n, ast.Attribute)}
                if classes & ADAPTER_CLASSES:
                    found.append(f"{where}:{node.lineno}: isinstance of {sorted(classes & ADAPTER_CLASSES)}")
    return found


def test_no_consumer_switches_on_a_backends_kind() -> None:
    wrong = [line for path in consumers() for line in switches(path)]
    assert not wrong, "use the Tokenizer protocol's members instead:\n" + "\n".join(wrong)


def test_the_check_sees_the_switches_it_forbids(tmp_path: Path) -> None:
    """The four shapes the analysis code had before issue 15.1, each caught."""
    sample = tmp_path / "switch_sample.py"
    source = '''
def encoder(tok):
    if getattr(tok, "kind", None) == "tiktoken" and hasattr(tok, "encoding"):
        return tok.encoding.encode_to_numpy
    if tok.kind in ("spm", "x"):
        return tok.sp.EncodeAsIds
    return tok.encode if isinstance(tok, HFTokenizer) else getattr(tok, "encode_batch", None)
'''
    sample.write_text(source, encoding="utf-8")
    found = switches(sample)
    assert len(found) == 8, found
    assert sum("compares a kind" in f for f in found) == 2
    assert sum("reaches into" in f for f in found) == 2
    assert sum("getattr" in f or "hasattr" in f for f in found) == 3
    assert sum("isinstance" in f for f in found) == 1


PROTOCOL_MEMBERS = sorted({name for name in (*Tokenizer.__dict__, *Tokenizer.__annotations__)
                           if not name.startswith("_")})
"""Every member the protocol declares (``kind`` is an annotation, the rest live in its dict)."""


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_registered_kind_implements_the_whole_protocol(kind: str) -> None:
    """Declared on the class itself (the library adapters and tokkit's own models write the batch
    members and ``vocab_bytes`` over their libraries; only a subclass of the protocol may inherit
    the plain ones)."""
    cls = tokenizer_class(kind)
    assert cls.kind == kind
    missing = [name for name in PROTOCOL_MEMBERS if not hasattr(cls, name)]
    assert not missing, f"{cls.__name__} lacks {missing}"
    for name in ("encode_batch", "decode_batch", "vocab_bytes"):
        assert getattr(cls, name) is not getattr(Tokenizer, name), f"{cls.__name__}.{name} is the plain one"
    assert "threads" in inspect.signature(cls.encode_batch).parameters
