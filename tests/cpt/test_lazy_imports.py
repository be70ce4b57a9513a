from __future__ import annotations

import subprocess
import sys


def test_shards_cpt_and_pipeline_modules_leave_torch_unloaded() -> None:
    code = (
        "import sys, tokkit, tokkit.shards, tokkit.cpt, tokkit.cpt.config, tokkit.pipeline, "
        "tokkit.cli.shard, tokkit.cli.cpt, tokkit.cli.pipeline\n"
        "print(sorted(m for m in ('torch', 'transformers', 'safetensors') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
