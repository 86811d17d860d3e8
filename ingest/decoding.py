"""Bytes of a text file to str.

.txt, .md and undeclared .html files carry no reliable encoding, and Chinese
ones are often GB18030/GBK rather than UTF-8; this is the one place that
guesses, so every format decodes text the same way.
"""

from __future__ import annotations

import codecs
import re

from ingest.errors import LoadError
from lang.scripts import CJK_PUNCTUATION, is_ideograph

BOMS: tuple[tuple[bytes, str], ...] = (
    # UTF-32 first: its little-endian BOM begins with UTF-16's.
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def decode_text(data: bytes, name: str = "file") -> str:
    """Bytes of a text file to str, as the file's author most likely meant.

    BOM first (UTF-8, UTF-16, UTF-32; the BOM itself is not text), then strict
    UTF-8, then GB18030 (a superset of GBK and GB2312, the usual encodings of
    Chinese files that are not UTF-8) when the result reads as Chinese, then
    charset-normalizer's best guess. Binary data raises :class:`LoadError`.
    """
    for bom, codec in BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec)
            except UnicodeDecodeError:
                raise LoadError(name, f"starts with a {codec} byte-order mark but is not valid {codec}; "
                                      "re-save it as UTF-8") from None
    if b"\x00" in data[:1024]:
        raise LoadError(name, "binary file (NUL bytes), not text; remove it from the corpus folder "
                              "or convert it to .txt, .md, .pdf, .docx or .html")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        text = None
    if text is not None and _looks_chinese(text):
        return text
    return _guess(data, name)


_CJK_PUNCTUATION = re.compile(f"[{CJK_PUNCTUATION}]")


def _looks_chinese(text: str) -> bool:
    # GB18030 maps most byte pairs to *some* character, so a Latin-1 or
    # Shift-JIS file can decode without error; what gives it away is that
    # its non-ASCII characters are not mostly Chinese.
    non_ascii = [c for c in text if ord(c) > 127]
    if not non_ascii:
        return False
    chinese = sum(1 for c in non_ascii if is_ideograph(c) or c == "\u00b7" or "\u2000" <= c <= "\u206f"
                  or _CJK_PUNCTUATION.match(c) or "\uff00" <= c <= "\uffef")
    return chinese / len(non_ascii) >= 0.9


def _guess(data: bytes, name: str) -> str:
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    text = None if best is None else str(best)
    if text is None or _mostly_control(text):
        raise LoadError(name, "not readable as text in any known encoding (binary?); "
                              "re-save it as UTF-8 or remove it from the corpus folder")
    return text


def _mostly_control(text: str) -> bool:
    sample = text[:4096]
    controls = sum(1 for c in sample if ord(c) < 32 and c not in "\t\n\r\f\v")
    return controls > len(sample) * 0.05
