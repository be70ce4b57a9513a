"""Install every dependency at its declared minimum in a fresh venv and run the tests there.

A floor in ``pyproject.toml`` is a promise ("works with datasketch 2.0"); this checks it. The
floors of the core dependencies and of the chosen extras are read from ``pyproject.toml``; where
an extra raises a core package's floor (``cpt`` needs newer ``tokenizers`` than the core), the
higher floor is the minimum of that combination. Each floor is installed exactly
(``pip --constraint`` with ``name==floor``), tokkit is installed editable on top, the versions
pip picked are printed beside the floors, and the tests run in that venv.

Not at its floor: ``torch``, pinned to the CPU wheel CI installs (:data:`PINNED`): the oldest torch
on PyPI is a CUDA build of several GB.

    python scripts/check_min_deps.py                      # core + cpt + analyze, whole test suite
    python scripts/check_min_deps.py --extras "" tests/dedup tests/corpus
    python scripts/check_min_deps.py --venv /tmp/min-venv --keep   # reuse a venv between runs

``.ci/run`` runs it when ``TOKKIT_MIN_DEPS=1``. Exit status: pytest's, or 1 if the install failed
or pip installed something else than a floor.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_EXTRAS = ("cpt", "analyze")
"""``ray`` is left out by default (large; its tests skip without it): pass --extras cpt,analyze,ray."""
PINNED = {"torch": "2.13.0"}
"""Installed at this version instead of the floor, with the reason in the module doc."""
TEST_TOOLS = ("pytest", "hypothesis")
"""From the ``dev`` extra: what running the tests needs (also at their floors)."""
REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9_.-]+)(\[[^\]]*\])?\s*([^;]*?)\s*(;.*)?$")


def _version_key(version: str) -> tuple[int, ...]:
    """Release numbers without trailing zeros: "8.1" and "8.1.0" are one version."""
    key = [int(part) for part in re.findall(r"\d+", version.split("+")[0])]
    while key and key[-1] == 0:
        key.pop()
    return tuple(key)


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def floors(pyproject: Path, extras: list[str]) -> dict[str, tuple[str, str]]:
    """``{package: (floor, marker)}`` over the core dependencies, ``extras`` and the test tools."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    optional = project.get("optional-dependencies", {})
    unknown = [e for e in extras if e not in optional]
    if unknown:
        raise SystemExit(f"unknown extra(s) {', '.join(unknown)}; pyproject.toml has {', '.join(optional)}")
    requirements = list(project["dependencies"])
    for extra in extras:
        requirements += optional[extra]
    requirements += [r for r in optional.get("dev", []) if _normalized(REQUIREMENT.match(r)[1]) in TEST_TOOLS]
    out: dict[str, tuple[str, str]] = {}
    for requirement in requirements:
        match = REQUIREMENT.match(requirement)
        if match is None:
            raise SystemExit(f"pyproject.toml: cannot read the requirement {requirement!r}")
        name, spec, marker = _normalized(match[1]), match[3], (match[4] or "").lstrip("; ")
        floor = re.search(r">=\s*([0-9][^,\s]*)", spec)
        if floor is None:
            raise SystemExit(f"pyproject.toml: {requirement!r} declares no floor (>=); add one")
        if name not in out or _version_key(floor[1]) > _version_key(out[name][0]):
            out[name] = (floor[1], marker)
    return out


def run(command: list[str], **kwargs: object) -> int:
    print("+", " ".join(command), flush=True)
    return subprocess.run(command, check=False, **kwargs).returncode  # type: ignore[call-overload]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--extras", default=",".join(DEFAULT_EXTRAS),
                        help="extras to install at their floors, comma-separated (default: %(default)s)")
    parser.add_argument("--venv", type=Path, default=None, help="venv dir (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the venv afterwards")
    parser.add_argument("pytest_args", nargs="*", help="passed to pytest (default: the whole suite)")
    args = parser.parse_args()
    extras = [e for e in args.extras.split(",") if e]
    wanted = floors(ROOT / "pyproject.toml", extras)
    pins = {name: PINNED.get(name, floor) for name, (floor, _) in wanted.items()}

    venv = args.venv or Path(tempfile.mkdtemp(prefix="tokkit-min-deps-"))
    try:
        python = venv / "bin" / "python"
        if not python.exists() and run([sys.executable, "-m", "venv", str(venv)]):
            return 1
        constraints = venv / "min-constraints.txt"
        constraints.write_text("".join(
            f"{name}=={pins[name]}{'; ' + marker if marker else ''}\n"
            for name, (_, marker) in sorted(wanted.items())), encoding="utf-8")
        target = f"{ROOT}[{','.join(extras)}]" if extras else str(ROOT)
        if run([str(python), "-m", "pip", "install", "-q", "--constraint", str(constraints),
                "-e", target, *TEST_TOOLS]):
            print("error: the declared floors cannot be installed together (see pip above); "
                  "raise the floor pip complains about in pyproject.toml", file=sys.stderr)
            return 1
        listed = subprocess.run([str(python), "-m", "pip", "list", "--format=freeze"],
                                check=True, capture_output=True, text=True).stdout
        installed = {_normalized(n): v for n, v in (line.split("==", 1) for line in listed.splitlines()
                                                    if "==" in line)}
        wrong = []
        print(f"{'package':<14} {'floor':<12} installed")
        for name, (floor, marker) in sorted(wanted.items()):
            got = installed.get(name, "-")
            note = " (pinned, not the floor)" if name in PINNED else ""
            print(f"{name:<14} {floor:<12} {got}{note}")
            if got != "-" and _version_key(got) != _version_key(pins[name]):
                wrong.append(name)
            if got == "-" and not marker:
                wrong.append(name)
        if wrong:
            print(f"error: not installed at the floor: {', '.join(wrong)}", file=sys.stderr)
            return 1
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        env.setdefault("TOKKIT_SHARED", str(ROOT.parent / "shared"))
        return run([str(python), "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                    *(args.pytest_args or [])], cwd=ROOT, env=env)
    finally:
        if args.venv is None and not args.keep:
            shutil.rmtree(venv, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
