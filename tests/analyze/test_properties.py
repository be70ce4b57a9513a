"""Property tests: on any text, token counts and round trips equal the library's, whole + split Han
characters add up, and per-script costs add up to the token count."""

from __future__ import annotations

from pathlib import Path

import pytest
import regex
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokkit.analyze.compression import figures
from tokkit.analyze.measure import Measurer, open_tokenizers, text_tally
from tokkit.analyze.scripts import SCRIPTS

HAN = regex.compile(r"\p{Script=Han}")
texts = st.lists(
    st.one_of(
        st.text(),
        st.text(alphabet=st.sampled_from("的是鞅龘𪚥中文 ，。a1\t\n🙂é▁")),
        st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)),
    ),
    min_size=1,
    max_size=8,
)


@pytest.fixture(scope="module")
def measurers(llama_model: Path, hf_byte_level: Path) -> dict[str, Measurer]:
    specs = [llama_model, "tiktoken:cl100k_base", hf_byte_level]
    return dict(zip(("llama", "cl100k", "hf"), map(Measurer, open_tokenizers(specs)), strict=True))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=texts)
def test_figures_agree_with_the_library_on_any_text(measurers: dict[str, Measurer],
                                                    batch: list[str]) -> None:
    encoded = [t.encode("utf-8", errors="surrogatepass") for t in batch]
    if any(b"\xed" in e for e in encoded):  # lone surrogates are not text
        return
    text = text_tally(batch, encoded)
    for name, m in measurers.items():
        f = figures(text, m.measure(batch, encoded), m.table, m.tokenizer.vocab_size)
        if name == "llama":
            sp = m.tokenizer.sp  # type: ignore[attr-defined]
            ids = [sp.EncodeAsIds(t) for t in batch]
            decoded = [sp.DecodeIds(i) for i in ids]
        elif name == "hf":  # plain byte-level BPE: round trips judged on token bytes alone
            hf = m.tokenizer.hf  # type: ignore[attr-defined]
            ids = [hf.encode(t, add_special_tokens=False).ids for t in batch]
            decoded = [hf.decode(i, skip_special_tokens=False) for i in ids]
        else:
            enc = m.tokenizer.encoding  # type: ignore[attr-defined]
            ids = [enc.encode_ordinary(t) for t in batch]
            decoded = [enc.decode(i) for i in ids]
        assert f["tokens"] == sum(map(len, ids))
        assert f["roundtrip_exact"] == sum(d == t for d, t in zip(decoded, batch, strict=True))
        assert f["han_chars"] == sum(len(HAN.findall(t)) for t in batch)
        assert f["han_whole"] + f["han_split"] == f["han_chars"]
        assert sum(f["scripts"][s]["tokens"] for s in SCRIPTS) == pytest.approx(f["tokens"])
