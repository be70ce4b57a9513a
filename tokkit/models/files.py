"""Reading the JSON model files tokkit writes (``bpe.model``, ``unigram.json``, ``wordpiece.json``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tokkit.errors import InputError


def read_model_json(path: Path, kind: str, format_name: str, version: int) -> dict[str, Any]:
    """Parse a tokkit model JSON file; one place for the checks, so every model kind refuses bad files alike."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise InputError(f"{path}: cannot read ({err.strerror}); point at a {kind} output dir") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: not a tokkit {kind} file ({err})") from None
    if not isinstance(data, dict) or data.get("format") != format_name:
        raise InputError(f"{path}: not a tokkit {kind} file (format is not '{format_name}')")
    if data.get("version", 0) > version:
        raise InputError(f"{path}: written by a newer tokkit (version {data['version']}); upgrade tokkit")
    return data
