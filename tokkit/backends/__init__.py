"""Library-backed tokenizers and trainers (HF `tokenizers`, `sentencepiece`) behind tokkit's interface."""
