"""``tokkit train-unigram``: train a Unigram (sentencepiece-style) tokenizer, from scratch or with a library."""

from __future__ import annotations

import click

from tokkit.cli.common import corpus_options, default_of, quiet
from tokkit.cli.train import DEFAULT_VOCAB, backends, output_options, run_training_command
from tokkit.progress import console
from tokkit.train.config import UnigramConfig


@click.command("train-unigram")
@click.argument("corpus", nargs=-1, type=click.Path())
@click.option("--vocab", "vocab_size", type=int, default=DEFAULT_VOCAB, show_default=True,
              help="Final vocabulary size: special tokens (+ 256 bytes) + pieces.")
@click.option("--backend", type=click.Choice(backends("unigram")), default="scratch",
              show_default=True,
              help="scratch: tokkit's trainer; hf: tokenizers' UnigramTrainer; spm: sentencepiece.")
@click.option("--special", multiple=True, default=default_of(UnigramConfig, "special_tokens"), show_default=True,
              help="A special token (repeat the option for several); <unk> is required.")
@click.option("--character-coverage", type=float, default=default_of(UnigramConfig, "character_coverage"), show_default=True,
              help="Share of character occurrences the alphabet covers; rarer ones are unknown.")
@click.option("--byte-fallback", is_flag=True,
              help="Add 256 <0xNN> pieces: unknown characters are spelled as UTF-8 bytes.")
@click.option("--normalization", type=click.Choice(["nfkc", "identity"]), default=default_of(UnigramConfig, "normalization"),
              show_default=True, help="Unicode normalization applied before everything.")
@click.option("--max-piece-length", type=int, default=default_of(UnigramConfig, "max_piece_length"), show_default=True,
              help="Longest piece, in characters.")
@click.option("--seed-size", type=int, default=default_of(UnigramConfig, "seed_size"), show_default=True,
              help="Substrings that seed the vocabulary before EM and pruning.")
@click.option("--shrinking-factor", type=float, default=default_of(UnigramConfig, "shrinking_factor"), show_default=True,
              help="Share of pieces each pruning round keeps.")
@click.option("--input-sentence-size", type=int, default=default_of(UnigramConfig, "input_sentence_size"), show_default=True,
              help="spm backend: load at most this many sentences, sampled (0: all).")
@output_options
@corpus_options
@click.pass_context
def train_unigram(ctx: click.Context, corpus: tuple[str, ...], vocab_size: int, backend: str,
                  special: tuple[str, ...], character_coverage: float, byte_fallback: bool,
                  normalization: str, max_piece_length: int, seed_size: int,
                  shrinking_factor: float, input_sentence_size: int, output: str | None,
                  name: str | None, force: bool, split: str, text_field: str,
                  encoding_errors: str) -> None:
    """Train a Unigram language-model tokenizer on CORPUS (files, directories, globs).

    With no CORPUS, trains on the sample corpora (English + Chinese). Writes unigram.json,
    unigram.vocab, spm.model (for sentencepiece), tokenizer.json (for `tokenizers`) and
    tokkit.json; the spm backend writes spm.model/spm.vocab.

    \b
    Examples:
      tokkit train-unigram corpus/ --vocab 32000
      tokkit train-unigram data/ --vocab 50000 --byte-fallback --backend spm -o vocab/uni50k
    """
    config = UnigramConfig(vocab_size=vocab_size, special_tokens=tuple(special),
                           character_coverage=character_coverage, byte_fallback=byte_fallback,
                           normalization=normalization, max_piece_length=max_piece_length,
                           seed_size=seed_size, shrinking_factor=shrinking_factor,
                           input_sentence_size=input_sentence_size)
    config.check()

    report = run_training_command(ctx, trainer_config=config, algorithm="unigram",
                                  backend=backend, config=config.to_dict(), corpus=corpus,
                                  output=output, name=name, force=force, split=split,
                                  text_field=text_field, encoding_errors=encoding_errors)
    sampled = report.trainer.get("sampled_sentences")
    if sampled and not quiet(ctx):
        console.print(f"[yellow]note:[/] sentencepiece trained on a random sample of {sampled:,} of "
                      f"{report.trainer['sentences']:,} sentences (--input-sentence-size)")
