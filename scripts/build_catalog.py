"""Rebuild ``corpora/catalog.json`` from a mirror's ``MANIFEST.json`` (e.g. ../shared/corpora).

Usage: python scripts/build_catalog.py [../shared/corpora/MANIFEST.json]

Each manifest entry ``{path, bytes, sha256, source, license}`` becomes a catalog file with a
download ``url`` and, for sources that are a glob inside a GitHub repository, the ``members`` to
concatenate from the repository's zip. ``transform`` records how the published bytes became the
mirror's bytes, so a download can be verified against the same sha256:

- ``none``: byte for byte as published (``neardup/`` keeps every edition exactly as it is);
- ``text``: decoded (UTF-8 with or without BOM, else Latin-1), ``\\r\\n`` → ``\\n``, re-encoded
  as UTF-8 (the ``en/``, ``zh/`` and ``heldout/`` training and evaluation text);
- ``gunzip``: a ``.gz`` member of a Debian package, decompressed (``parallel/``: Debian's
  mirrors keep every released package, so the bytes verify for good).

``large/`` has no ``url``: its parts were joined from a repository's files, cut in eight and
zstd-compressed, and no published file has those bytes, so it comes from a mirror only (its
``text_bytes``/``text_sha256`` say what the decompressed text must be).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

# name → (language, description, transform)
GROUPS = {
    "en": ("en", "English: 9 Project Gutenberg novels + WikiText-2 valid/test", "text"),
    "zh": ("zh", "Modern simplified Chinese (NiuTrans Classical-Modern, modern side), a book a file",
           "text"),
    "heldout": ("en+zh", "Evaluation-only text: Dracula (en) and 资治通鉴 (zh)", "text"),
    "neardup": ("en", "Several published editions of four novels: real near-duplicates", "none"),
    "large": ("zh", "313 MB of Chinese for scale benchmarks (classical originals + modern "
              "translations), zstd-compressed; mirror only", "none"),
    "parallel": ("multi", "Debian Reference 2.100 in 9 languages: the same book, for "
                 "cross-language parity", "gunzip"),
}
SOURCE_PACKAGES = {"debian-reference-": "debian-reference"}  # binary-name prefix → source
DEBIAN_POOL = "https://deb.debian.org/debian/pool/main"
_DEBIAN = re.compile(r"Debian package (?P<package>[\w.+-]+) (?P<version>[\w.+~:-]+): "
                     r"/(?P<member>\S+?), decompressed\Z")
ALIASES = {"sample": ["en", "zh"]}
DEFAULT = ["en", "zh"]


def url_for(source: str, path: str) -> dict[str, str]:
    """``github:owner/repo:path`` → a raw URL, or an archive URL plus the members to join;
    a Debian package member → the package's URL in Debian's pool plus the member."""
    if (deb := _DEBIAN.match(source)) is not None:
        package, version = deb["package"], deb["version"]
        # Debian's pool is by source package: debian-reference-de is built from debian-reference
        source_package = next((src for prefix, src in SOURCE_PACKAGES.items()
                               if package.startswith(prefix)), package)
        pool = f"{DEBIAN_POOL}/{source_package[0]}/{source_package}"
        return {"url": f"{pool}/{package}_{version}_all.deb", "members": deb["member"]}
    if path.startswith("large/"):
        return {}  # mirror only: see the module docstring
    kind, repo, member = source.split(":", 2)
    if kind != "github":
        raise ValueError(f"unknown source kind {kind!r}")
    if any(c in member for c in "*?["):
        return {"url": f"https://codeload.github.com/{repo}/zip/HEAD", "members": member}
    return {"url": f"https://raw.githubusercontent.com/{repo}/HEAD/{member}"}


def build(entries: list[dict]) -> dict:
    corpora = []
    for name, (language, description, transform) in GROUPS.items():
        files = [
            {"path": e["path"], "bytes": e["bytes"], "sha256": e["sha256"], "source": e["source"],
             "license": e["license"], **url_for(e["source"], e["path"]), "transform": transform,
             **{k: e[k] for k in ("text_bytes", "text_sha256") if k in e}}
            for e in entries
            if e["path"].split("/", 1)[0] == name
        ]
        if not files:
            raise SystemExit(f"no manifest entries under {name}/")
        corpora.append({
            "name": name,
            "language": language,
            "description": description,
            "licenses": sorted({f["license"] for f in files}),
            "bytes": sum(f["bytes"] for f in files),
            "files": files,
        })
    return {"version": 1, "default": DEFAULT, "aliases": ALIASES, "corpora": corpora}


def main(manifest: str) -> None:
    entries = json.loads(Path(manifest).read_text(encoding="utf-8"))
    catalog = build(entries)
    out = Path(__file__).resolve().parents[1] / "corpora" / "catalog.json"
    out.write_text(json.dumps(catalog, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    files = sum(len(c["files"]) for c in catalog["corpora"])
    print(f"wrote {out}: {len(catalog['corpora'])} corpora, {files} files")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/corpora/MANIFEST.json")
