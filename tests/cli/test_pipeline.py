from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tokkit.cli import cli
from tokkit.errors import InputError
from tokkit.pipeline import STAGES, PipelineConfig


def _toml(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_config_tables_reach_the_stage_configs_and_typos_are_named(tmp_path: Path) -> None:
    config = PipelineConfig.load(_toml(tmp_path / "p.toml", 'sample_mb = 1\ncorpora = "zh"\n[shard]\nseq_len = 64\n'))
    assert config.corpora == ("zh",) and config.stage("shard")["seq_len"] == 64
    assert config.stage("shard")["val_fraction"] == 0.02  # defaults kept beside the override
    with pytest.raises(InputError, match=r"unknown setting.*sampel_mb"):
        PipelineConfig.load(_toml(tmp_path / "q.toml", "sampel_mb = 1\n"))
    with pytest.raises(InputError, match="not valid TOML"):
        PipelineConfig.load(_toml(tmp_path / "r.toml", "[shard\n"))
    with pytest.raises(InputError, match="cpt must be a table"):
        PipelineConfig.load(_toml(tmp_path / "s.toml", "cpt = 3\n"))


def test_a_typo_inside_a_stage_table_is_refused_in_one_line(tmp_path: Path, llama_model: Path, corpora: Path,  # type: ignore[no-untyped-def]
                                                            run_main, assert_clean_failure) -> None:
    config = _toml(tmp_path / "p.toml", f"""
run_dir = "{tmp_path / 'run'}"
corpora = ["{corpora / 'zh'}"]
sample_mb = 0.05
llama_tokenizer = "{llama_model}"
[dedup]
treshold = 0.5
""")
    proc = run_main("-q", "pipeline", str(config))
    assert_clean_failure(proc, "dedup settings: unknown treshold", code=2, output=tmp_path / "run")


def test_a_missing_llama_tokenizer_is_named_with_the_fix(tmp_path: Path) -> None:
    config = PipelineConfig(run_dir=str(tmp_path / "run"), llama_tokenizer=str(tmp_path / "nope.model"))
    from tokkit.pipeline import run_pipeline

    with pytest.raises(InputError, match=r"point it at LLaMA's tokenizer\.model"):
        run_pipeline(config)
    assert not (tmp_path / "run").exists()


@pytest.mark.slow  # ~30-80 s on 2 busy cores; benchmarks/bench_pipeline.py runs the full default pipeline
def test_the_pipeline_runs_every_stage_end_to_end_and_reuses_finished_stages(  # type: ignore[no-untyped-def]
    tmp_path: Path, llama_model: Path, corpora: Path, heldout: Path, run_main, assert_clean_failure,
    tiny_pipeline_toml
) -> None:
    pytest.importorskip("torch")
    run = tmp_path / "run"
    config = tiny_pipeline_toml(tmp_path / "tiny.toml", corpora, heldout, llama_model, run_dir=run)
    result = CliRunner().invoke(cli, ["-q", "pipeline", str(config)])
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert result.stdout.strip() == str(run / "report.md")
    report = json.loads((run / "report.json").read_text())
    assert [s["name"] for s in report["stages"]] == list(STAGES)
    figures = {s["name"]: s["figures"] for s in report["stages"]}
    assert figures["extend"]["vocab_size"] > 32000
    assert figures["resize"]["new_rows"] == figures["extend"]["vocab_size"]
    assert figures["shard"]["vocab_size"] == figures["extend"]["vocab_size"]
    assert figures["cpt"]["steps"] == 4 and figures["cpt"]["val_loss_last"] < figures["cpt"]["val_loss_first"]
    for folder in ("01-dedup/manifest.json", "02-bpe/tokkit.json", "03-extend/tokenizer.model",
                   "04-analyze/report.md", "06-resized/config.json", "07-shards/manifest.json",
                   "08-cpt/final/config.json", "report.md"):
        assert (run / folder).exists(), folder
    assert "| cpt |" in (run / "report.md").read_text()

    again = CliRunner().invoke(cli, ["-q", "pipeline", str(config)])
    assert again.exit_code == 0
    assert all(s["reused"] for s in json.loads((run / "report.json").read_text())["stages"])
    changed = _toml(tmp_path / "changed.toml", config.read_text().replace("steps = 4", "steps = 5"))
    assert_clean_failure(run_main("-q", "pipeline", str(changed)), "--force")


BAD_TYPES = {
    'sample_mb = "abc"': 'error: {src}: sample_mb = "abc": expected a finite number',
    "sample_mb = nan": "error: {src}: sample_mb = nan: expected a finite number",
    "heldout = 3": "error: {src}: heldout = 3: expected a string or a list of strings",
    '[train]\nvocab_size = "8000"': 'error: {src}: [train] vocab_size = "8000": expected an integer',
    '[dedup]\nthreshold = "high"': 'error: {src}: [dedup] threshold = "high": expected a finite number',
    '[cpt]\nsteps = "x"': 'error: {src}: [cpt] steps = "x": expected an integer',
    '[model]\nhidden_size = "big"': 'error: {src}: [model] hidden_size = "big": expected an integer',
    "[shard]\nseq_len = 1": "error: {src}: [shard] seq_len = 1 is out of range; use 2..16777216 (e.g. 2048)",
    '[train]\nmerge_kernel = "rust"': "error: {src}: [train] merge_kernel must be one of auto, python, "
                                     "numba, got 'rust'",
    '[extend]\nzh_vocab = "many"': 'error: {src}: [extend] zh_vocab = "many": expected an integer',
}


@pytest.mark.parametrize("setting", BAD_TYPES)
def test_a_value_of_the_wrong_type_is_one_line_and_nothing_is_created(  # type: ignore[no-untyped-def]
    setting: str, tmp_path: Path, llama_model: Path, run_main, assert_clean_failure
) -> None:
    """Each of these was a traceback, one after the run dir was created (issue 12.6)."""
    run_dir = tmp_path / "run"
    src = _toml(tmp_path / "p.toml", f'run_dir = "{run_dir}"\nllama_tokenizer = "{llama_model}"\n{setting}\n')
    line = assert_clean_failure(run_main("-q", "pipeline", str(src)), code=2, output=run_dir)
    assert line == BAD_TYPES[setting].format(src=src)


def test_every_bad_key_is_named_at_once_one_line_each(tmp_path: Path, run_main) -> None:  # type: ignore[no-untyped-def]
    run_dir = tmp_path / "run"
    src = _toml(tmp_path / "p.toml", f'run_dir = "{run_dir}"\nsample_mb = "abc"\nheldout = 3\n'
                '[train]\nvocab_size = "8000"\n[dedup]\nthreshold = "high"\n[cpt]\nsteps = "x"\n'
                '[model]\nhidden_size = "big"\n')
    proc = run_main("-q", "pipeline", str(src))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    keys = [line.split(": ", 2)[2].split(" = ")[0] for line in proc.stderr.splitlines()]
    assert keys == ["sample_mb", "heldout", "[dedup] threshold", "[train] vocab_size", "[cpt] steps",
                    "[model] hidden_size"]
    assert all(line.startswith(f"error: {src}: ") for line in proc.stderr.splitlines())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.toml"]
    with pytest.raises(InputError) as err:
        PipelineConfig.load(src)
    assert len(str(err.value).splitlines()) == 6
