"""What is left of a question once markup and junk are taken out.

A question pasted from a web page or a chat log can arrive wrapped in HTML
("<div><script>…</script>黄河有多长？</div>"), full of control characters,
zero-width and bidirectional-override characters, or runs of repeated
punctuation. None of it is the question, yet all of it reaches the embedder
and BM25 and can steer retrieval (a script's words match other passages
better than the question does). :func:`clean_question_text` removes it
before retrieval; :func:`has_content` says whether any content word is left
(a question of nothing but markup, control characters and question words
is abstained on, not answered from whatever passage is nearest).
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass

from lang.scripts import IDEOGRAPHS
from lang.stopwords import STOPWORDS
from lang.terms import terms

# Elements whose content is code or styling, never words of the question.
_CODE_ELEMENTS = re.compile(r"<\s*(script|style|template|noscript|iframe|object|svg|math)\b[^>]*>.*?<\s*/\s*\1\s*>",
                            re.IGNORECASE | re.DOTALL)
_UNCLOSED_CODE = re.compile(r"<\s*(?:script|style)\b[^>]*>.*", re.IGNORECASE | re.DOTALL)
_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)
# A tag: <name ...>, </name>, <name/>; a lone "<" in "a < b" is not one.
_TAG = re.compile(r"<\s*/?\s*[A-Za-z][\w:-]*(?:\s+[^<>]*)?/?\s*>")
# Runs of the same punctuation mark: "？？？？" says no more than "？".
_REPEATED_PUNCT = re.compile(r"([^\w\s])\1{2,}")
_BLANKS = re.compile(r"\s+")
# A blank left between two ideographs by a removed tag or character: Chinese
# puts none there ("<b>黄河</b>有多长" is "黄河有多长").
_CHINESE_TEXT = f"{IDEOGRAPHS}\u3000-\u303f\uff00-\uffef"     # ideographs, CJK and full-width punctuation
_BLANK_IN_CHINESE = re.compile(f"(?<=[{_CHINESE_TEXT}]) (?=[{_CHINESE_TEXT}])")
# Terminal escape sequences ("\x1b[31m"): their letters are not words.
_ESCAPE = re.compile(r"\x1b(?:\[[0-9;?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")


@dataclass(frozen=True)
class CleanedQuestion:
    """A question with its junk removed, and what kind of junk it was."""

    text: str
    removed_markup: bool
    removed_controls: bool

    @property
    def changed(self) -> bool:
        return self.removed_markup or self.removed_controls


def clean_question_text(text: str) -> CleanedQuestion:
    """``text`` without HTML (script and style elements with their content,
    comments, tags; entities decoded), control, format (zero-width, bidi
    override) and private-use characters, repeated punctuation runs, and
    with its blanks collapsed."""
    stripped = _ESCAPE.sub(" ", text)
    removed_escapes = stripped != text
    stripped = _COMMENT.sub(" ", stripped)
    stripped = _CODE_ELEMENTS.sub(" ", stripped)
    stripped = _UNCLOSED_CODE.sub(" ", stripped)
    stripped = _TAG.sub(" ", stripped)
    stripped = html.unescape(stripped) if "&" in stripped else stripped
    removed_markup = stripped != text and not (removed_escapes and _ESCAPE.sub(" ", text) == stripped)
    kept = []
    removed_controls = removed_escapes
    for ch in stripped:
        category = unicodedata.category(ch)
        if ch in "\t\n\r\u3000":
            kept.append(" ")
        elif category in ("Cc", "Cf", "Co", "Cn"):
            removed_controls = True
            kept.append(" ")
        else:
            kept.append(ch)
    cleaned = _REPEATED_PUNCT.sub(r"\1", "".join(kept))
    cleaned = _BLANK_IN_CHINESE.sub("", _BLANKS.sub(" ", cleaned).strip())
    return CleanedQuestion(cleaned, removed_markup, removed_controls)


def has_content(question: str) -> bool:
    """Whether ``question`` has a content word: a term left once question
    words and function words are taken out (:func:`lang.terms.terms`; a
    lone function word such as 是 is no content either)."""
    return any(term not in STOPWORDS for term in terms(question, question=True).counts)
