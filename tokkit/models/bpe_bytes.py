"""The byte-level alphabet shared by the BPE trainer, the tokenizer and the ``tokenizer.json`` export.

GPT-2's ByteLevel trick shows every byte as one printable character (``" "`` → ``"Ġ"``,
``"\\n"`` → ``"Ċ"``), so a token can be written as a plain string. ``tokenizers`` numbers its 256
byte symbols in the order of the code points of those display characters, and breaks training
ties by those numbers, so we number them the same way (:data:`BYTE_RANK`): merge lists, ids and
the exported vocabulary then agree with the library without translation.
"""

from __future__ import annotations


def _byte_to_display() -> list[str]:
    """GPT-2's table: printable Latin-1 bytes show as themselves, the rest shift above U+0100."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1),
                 *range(ord("®"), ord("ÿ") + 1)]
    display = [""] * 256
    for b in printable:
        display[b] = chr(b)
    shift = 0
    for b in range(256):
        if not display[b]:
            display[b] = chr(256 + shift)
            shift += 1
    return display


BYTE_DISPLAY: list[str] = _byte_to_display()
"""Byte value → its ByteLevel display character."""

DISPLAY_BYTE: dict[str, int] = {ch: b for b, ch in enumerate(BYTE_DISPLAY)}
"""ByteLevel display character → byte value."""

RANKED_BYTES: list[int] = sorted(range(256), key=lambda b: ord(BYTE_DISPLAY[b]))
"""The 256 bytes in ``tokenizers``' order (by code point of the display character)."""

BYTE_RANK: list[int] = [0] * 256
"""Byte value → its position among the byte symbols (0..255)."""
for _rank, _byte in enumerate(RANKED_BYTES):
    BYTE_RANK[_byte] = _rank

RANK_TABLE: bytes = bytes(BYTE_RANK)
"""``bytes.translate`` table: raw bytes → byte ranks (one byte each)."""


def display(data: bytes) -> str:
    """The ByteLevel display string of raw bytes (what ``tokenizer.json`` stores)."""
    return "".join([BYTE_DISPLAY[b] for b in data])


def undisplay(text: str) -> bytes | None:
    """The raw bytes of a ByteLevel display string, or None if it is not one."""
    try:
        return bytes([DISPLAY_BYTE[ch] for ch in text])
    except KeyError:
        return None


def repair_surrogates(text: str) -> str:
    """``text`` as tiktoken encodes it: a UTF-16 surrogate pair (``"\\ud83d\\udc4d"``, as JSON or
    a Windows API may hand over) becomes its character (``"👍"``), a lone surrogate U+FFFD.

    Text without surrogates comes back unchanged (the same object), after one C-speed check.
    """
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text
