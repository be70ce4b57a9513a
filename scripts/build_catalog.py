"""Rebuild ``corpora/catalog.json`` from a mirror's ``MANIFEST.json`` (e.g. ../shared/corpora).

Usage: python scripts/build_catalog.py ../shared/corpora/MANIFEST.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

GROUPS = {
    "en": ("en", "English: 9 Project Gutenberg novels + WikiText-2 valid/test"),
    "zh": ("zh", "Modern simplified Chinese (NiuTrans Classical-Modern, modern side), a book a file"),
    "heldout": ("en+zh", "Evaluation-only text: Dracula (en) and 资治通鉴 (zh)"),
    "neardup": ("en", "Several published editions of four novels: real near-duplicates"),
}


def url_for(source: str) -> dict[str, str]:
    """``github:owner/repo:path`` → a raw URL, or an archive URL plus the members to join."""
    kind, repo, member = source.split(":", 2)
    if kind != "github":
        raise ValueError(f"unknown source kind {kind!r}")
    if any(c in member for c in "*?["):
        return {"url": f"https://codeload.github.com/{repo}/zip/HEAD", "members": member}
    return {"url": f"https://raw.githubusercontent.com/{repo}/HEAD/{member}"}


def main(manifest: str) -> None:
    entries = json.loads(Path(manifest).read_text(encoding="utf-8"))
    corpora = []
    for name, (language, description) in GROUPS.items():
        files = [
            {"path": e["path"], "bytes": e["bytes"], "sha256": e["sha256"], "source": e["source"],
             "license": e["license"], **url_for(e["source"])}
            for e in entries
            if e["path"].split("/", 1)[0] == name
        ]
        corpora.append({
            "name": name,
            "language": language,
            "description": description,
            "licenses": sorted({f["license"] for f in files}),
            "bytes": sum(f["bytes"] for f in files),
            "files": files,
        })
    catalog = {
        "version": 1,
        "default": ["en", "zh"],
        "aliases": {"sample": ["en", "zh"]},
        "corpora": corpora,
    }
    out = Path(__file__).resolve().parents[1] / "corpora" / "catalog.json"
    out.write_text(json.dumps(catalog, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {out}: {len(corpora)} corpora, {sum(len(c['files']) for c in corpora)} files")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/corpora/MANIFEST.json")
