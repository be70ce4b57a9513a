from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tokkit.cpt.compat import check_compatible
from tokkit.errors import InputError
from tokkit.shards import open_shards


def _model_dir(tmp_path: Path, rows: int, tokenizer: Path | None) -> Path:
    """A model dir as the check sees it: config.json (+ tokenizer files); weights are not read."""
    directory = tmp_path / f"m{rows}{'t' if tokenizer else ''}"
    directory.mkdir()
    (directory / "config.json").write_text(json.dumps({"model_type": "llama", "vocab_size": rows}))
    if tokenizer is not None:
        shutil.copy2(tokenizer / "tokenizer.json", directory / "tokenizer.json")
    return directory


def test_padding_rows_are_accepted_when_the_tokenizer_matches(cpt_assets: dict[str, Path], tmp_path: Path) -> None:
    manifest = open_shards(cpt_assets["shards"]).manifest
    check_compatible(_model_dir(tmp_path, 320, cpt_assets["tokenizer"]), manifest, shards="s")
    check_compatible(_model_dir(tmp_path, 384, cpt_assets["tokenizer"]), manifest, shards="s")
    with pytest.raises(InputError, match="256 embedding rows"):
        check_compatible(_model_dir(tmp_path, 256, cpt_assets["tokenizer"]), manifest, shards="s")
    with pytest.raises(InputError, match="384 embedding rows"):
        check_compatible(_model_dir(tmp_path, 384, None), manifest, shards="s", require_tokenizer=False)
    check_compatible(_model_dir(tmp_path, 320, None), manifest, shards="s", require_tokenizer=False)


def test_a_model_dir_without_config_is_a_clear_error(cpt_assets: dict[str, Path], tmp_path: Path) -> None:
    manifest = open_shards(cpt_assets["shards"]).manifest
    with pytest.raises(InputError, match=r"config\.json: missing"):
        check_compatible(tmp_path, manifest, shards="s")
