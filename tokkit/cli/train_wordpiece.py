"""``tokkit train-wordpiece``: train a BERT-style WordPiece tokenizer, from scratch or with a library."""

from __future__ import annotations

import click

from tokkit.cli.common import corpus_options, default_of
from tokkit.cli.train import DEFAULT_VOCAB, backends, output_options, run_training_command
from tokkit.train.config import WordPieceConfig


@click.command("train-wordpiece")
@click.argument("corpus", nargs=-1, type=click.Path())
@click.option("--vocab", "vocab_size", type=int, default=DEFAULT_VOCAB, show_default=True,
              help="Final vocabulary size: special tokens + characters (and ##characters) + merges.")
@click.option("--backend", type=click.Choice(backends("wordpiece")), default="scratch", show_default=True,
              help="scratch: tokkit's trainer (likelihood score); hf: tokenizers' WordPieceTrainer "
                   "(ranks merges by count).")
@click.option("--special", multiple=True, default=default_of(WordPieceConfig, "special_tokens"),
              show_default=True, help="A special token (repeat the option for several).")
@click.option("--min-frequency", type=int, default=default_of(WordPieceConfig, "min_frequency"), show_default=True,
              help="Never merge a pair seen fewer times.")
@click.option("--lowercase/--cased", default=default_of(WordPieceConfig, "lowercase"), show_default=True,
              help="Lowercase the text (BERT uncased) or keep case.")
@click.option("--strip-accents/--keep-accents", default=None,
              help="Remove accents [default: when lowercasing].")
@click.option("--limit-alphabet", type=int, default=None,
              help="Keep only this many most frequent characters (others become [UNK]).")
@click.option("--max-input-chars-per-word", type=int, default=default_of(WordPieceConfig, "max_input_chars_per_word"), show_default=True,
              help="Longer words encode as [UNK].")
@output_options
@corpus_options
@click.pass_context
def train_wordpiece(ctx: click.Context, corpus: tuple[str, ...], vocab_size: int, backend: str,
                    special: tuple[str, ...], min_frequency: int, lowercase: bool,
                    strip_accents: bool | None, limit_alphabet: int | None,
                    max_input_chars_per_word: int, output: str | None, name: str | None,
                    force: bool, split: str, text_field: str, encoding_errors: str) -> None:
    """Train a WordPiece tokenizer (BERT's) on CORPUS (files, directories, globs).

    With no CORPUS, trains on the sample corpora (English + Chinese). Writes wordpiece.json,
    vocab.txt (BERT's vocab format), tokenizer.json (for `tokenizers`/`transformers`) and
    tokkit.json.

    \b
    Examples:
      tokkit train-wordpiece corpus/ --vocab 32000
      tokkit train-wordpiece data/*.jsonl --text-field content --cased --backend hf -o vocab/wp
    """
    config = WordPieceConfig(vocab_size=vocab_size, special_tokens=tuple(special),
                             min_frequency=min_frequency, lowercase=lowercase,
                             strip_accents=strip_accents, limit_alphabet=limit_alphabet,
                             max_input_chars_per_word=max_input_chars_per_word)
    config.check()

    run_training_command(ctx, trainer_config=config, algorithm="wordpiece", backend=backend,
                         config=config.to_dict(), corpus=corpus, output=output, name=name,
                         force=force, split=split, text_field=text_field,
                         encoding_errors=encoding_errors)
