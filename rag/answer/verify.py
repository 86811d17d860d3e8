"""Citation verification for any answer text, extractive or generated.

An answer is split into statements, each carrying the ``[n]`` markers that
follow it. A statement is *supported* when one of the passages it cites holds
a sentence (or two adjacent sentences) that says the same thing, judged by

- lexical recall: the share of the statement's terms (CJK character bigrams
  and words, after NFKC, punctuation removed) found in that sentence — a
  quote or a close paraphrase scores near 1; or
- embedding similarity, only between a statement and a sentence in
  different scripts (an English answer citing a Chinese passage), where no
  terms can be shared: their cosine must reach ``support_similarity``.
  Within one script similarity of meaning is not used: a claim and its
  negation are as close as a claim and its paraphrase ("组工干部不需要学习"
  scores cosine 0.935 against the passage saying they must study), while a
  faithful paraphrase keeps most of its source's character bigrams.

``Statement.support`` puts both on one scale: the lexical recall, or the
cosine scaled by ``support_threshold / support_similarity``, whichever is
higher — so ``support >= config.support_threshold`` exactly when either
test passes.

A short reply (an LLM answering "1998[1]" or "5464公里[1]") has too few
terms for recall to judge — a number glued to the characters around it in
the sentence ("于1998年") shares no bigram with it — so a statement whose
letters and digits stand verbatim in a cited sentence, numbers compared by
value ("5,464" = "5464", "五千四百六十四" = "5464", "二〇〇八" = "2008") and
never cut ("2" is not in "12"), is supported too (``support`` 1.0).

Calibration (essay passages; 9 supported and 9 unsupported Chinese
statements, 8 and 9 English ones citing Chinese passages): lexical recall of
supported Chinese statements 0.76-0.81, of unsupported ones 0.00-0.44, so
``support_threshold`` = 0.6 sits in the middle of the gap. Cross-script
cosines overlap (supported 0.808-0.857, unsupported 0.763-0.818):
``support_similarity`` = 0.82 rejects every unsupported one and accepts 5 of
8 supported ones — a translated statement is checked only roughly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Collection, Mapping, Sequence, Union

from ingest.records import Chunk
from lang.citations import find_markers
from lang.numerals import COUNT_MEASURES, ZH_DIGITS, ZH_NUMERAL_CHARS, parse_chinese
from lang.scripts import fold, is_chinese
from lang.terms import Terms, recall, terms
from rag.answer.units import units
from rag.config import Config
from rag.models.embedder import Embedder
from rag.records import Citation, Hit, Statement

# What may be cited: the citations of an answer (numbered by ``n``), or the
# passages shown to an LLM (numbered 1.. in order), or a mapping n -> text.
Passages = Union[Sequence[Citation], Sequence[Hit], Sequence[Chunk], Sequence[str], Mapping[int, str]]

# A sentence ends at terminal punctuation (with any closing quotes after it),
# or at a line break. An ASCII period ends one only before a space or the end,
# so "3.5" and "v1.2" stay whole.
_SENTENCE_END = re.compile(r"[。！？!?]+[”’」』）)\"']*|\.(?=\s|$)[”’」』）)\"']*|\n+")
_BLANK_BEFORE_PUNCT = re.compile(r"\s+([。.,，!?！？;；:：)）”])")
# A list bullet or number at the start of a line is layout, not content.
_BULLET = re.compile(r"^\s*(?:[-*•·]|\d{1,2}[.)、]|[（(]\d{1,2}[)）])\s+")

# Statements that link or introduce and claim nothing: they need no citation.
_CONNECTIVES = (
    "综上所述", "综上", "总之", "总而言之", "因此", "所以", "此外", "另外", "首先", "其次", "再次", "最后",
    "具体来说", "具体而言", "简而言之", "概括起来", "概括而言", "主要有", "包括", "如下", "以下", "答案",
    "要点", "几点", "几个方面", "方面", "内容",
    "根据文档", "根据段落", "根据资料", "根据以上段落", "根据上述段落", "文档中", "段落中",
    "in summary", "in short", "overall", "to summarize", "therefore", "in addition", "additionally",
    "first", "second", "finally", "the following", "as follows", "according to the passages",
    "according to the documents", "here is", "here are", "the answer is", "the main points", "key points",
    "points", "is", "are", "the",
)
_CONNECTIVE_RE = re.compile("|".join(
    (rf"\b{re.escape(c)}\b" if c.isascii() else re.escape(c)) for c in sorted(_CONNECTIVES, key=len, reverse=True)))
# Saying that the passages hold no answer claims nothing about their content.
_NO_ANSWER = re.compile(r"没有找到|未找到|没有提到|未提及|没有相关|无法回答|不包含|没有包含|"
                        r"do(?:es)? not (?:answer|contain|mention)|no answer|not (?:found|mentioned)|cannot answer")


# Numbers as the verbatim test compares them: Arabic with thousands separators
# and decimals, and runs of Chinese numerals.
_ARABIC_NUMBER = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?")
_ZH_NUMBER = re.compile(f"[{ZH_NUMERAL_CHARS}]+")
# After these a single Chinese numeral is a quantity or a date part (三个, 五月),
# elsewhere a word's character (统一, 一般), which stays as it is.
_ZH_NUMBER_FOLLOWERS = tuple(COUNT_MEASURES) + ("月", "日", "号", "点", "种", "类", "米", "里", "斤", "元", "%")


@dataclass(frozen=True)
class _Unit:
    """A window of one or two adjacent sentences of a passage, ready to
    compare: its terms, and its letters and digits with numbers written as
    plain digits (:func:`_plain`)."""

    text: str
    terms: Terms
    chinese: bool
    plain: str


def split_statements(answer_text: str, known: Collection[int] | None = None) -> list[Statement]:
    """The statements of an answer with the citation markers that belong to
    them (``[1]``, ``[1, 2]``, ``【1】``: :mod:`lang.citations`): markers
    inside a sentence or right after its end punctuation.

    With ``known`` (the numbers that name a passage), a marker outside it is
    dropped from ``citations`` and listed in ``dangling``.
    Statements are returned unverified (``supported=None``).
    """
    statements: list[Statement] = []
    for line in answer_text.splitlines():
        line = _BULLET.sub("", line)
        # Remove the markers, remembering where each stood in the clean text.
        clean_parts: list[str] = []
        marks: list[tuple[int, list[int]]] = []
        length, last = 0, 0
        for m in find_markers(line):
            clean_parts.append(line[last:m.start])
            length += m.start - last
            marks.append((length, list(m.numbers)))
            last = m.end
        clean_parts.append(line[last:])
        clean = "".join(clean_parts)
        spans = _sentence_spans(clean)
        if not spans:
            continue
        cited: list[list[int]] = [[] for _ in spans]
        for pos, numbers in marks:
            # A marker belongs to the sentence it stands in, or — standing at
            # a sentence boundary — to the sentence before it.
            index = max((i for i, (s, _) in enumerate(spans) if s < pos), default=0)
            cited[index].extend(numbers)
        for (s, e), numbers in zip(spans, cited):
            # A marker removed from before the end punctuation leaves a blank.
            text = _BLANK_BEFORE_PUNCT.sub(r"\1", clean[s:e]).strip()
            if not text:
                continue
            ordered = tuple(dict.fromkeys(numbers))
            valid = ordered if known is None else tuple(n for n in ordered if n in known)
            dangling = tuple(n for n in ordered if n not in valid)
            statements.append(Statement(text=text, citations=valid, dangling=dangling))
    return _drop_punctuation_only(statements)


def _sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence; a start skips the blanks before it, so
    a marker standing in those blanks goes with the sentence before."""
    spans, lo = [], 0
    for m in _SENTENCE_END.finditer(text):
        if text[lo:m.end()].strip():
            spans.append((_skip_blanks(text, lo), m.end()))
        lo = m.end()
    if text[lo:].strip():
        spans.append((_skip_blanks(text, lo), len(text)))
    return spans


def _skip_blanks(text: str, i: int) -> int:
    while i < len(text) and text[i].isspace():
        i += 1
    return i


def _drop_punctuation_only(statements: list[Statement]) -> list[Statement]:
    """Drop statements that are nothing but punctuation (a period left
    alone after its marker was removed)."""
    return [s for s in statements if any(ch.isalnum() for ch in s.text)]


def is_trivial(text: str) -> bool:
    """Connective or framing text ("综上所述：", "Here are the points:", "the
    documents do not answer this") that states no fact from a passage."""
    if _NO_ANSWER.search(fold(text)):
        return True
    rest = _CONNECTIVE_RE.sub(" ", fold(text))
    # Function characters left between connectives ("以下是要点") say nothing.
    rest = re.sub(r"[是的了和与及有为在如下]", " ", rest)
    return not terms(rest)


def verify(answer_text: str, passages: Passages, embedder: Embedder, config: Config) -> list[Statement]:
    """Split ``answer_text`` into statements and check each against the
    passages it cites. See the module docstring for what *supported* means."""
    texts = passage_texts(passages)
    statements = split_statements(answer_text, known=texts.keys())
    return verify_statements(statements, texts, embedder, config)


def verify_statements(statements: list[Statement], texts: Mapping[int, str], embedder: Embedder,
                      config: Config) -> list[Statement]:
    """Fill ``supported``, ``support`` and ``supporting`` of parsed statements."""
    windows = {n: _windows(text) for n, text in texts.items()}
    scale = config.support_threshold / config.support_similarity
    out: list[Statement] = []
    pending: list[tuple[int, int]] = []       # (statement index, passage n) needing embeddings
    lexical: dict[tuple[int, int], float] = {}
    for i, statement in enumerate(statements):
        if not statement.citations:
            trivial = is_trivial(statement.text)
            out.append(replace(statement, supported=trivial, support=1.0 if trivial else 0.0))
            continue
        needle = terms(statement.text)
        plain = _plain(statement.text) if not is_trivial(statement.text) else ""
        for n in statement.citations:
            best = max((recall(needle, w.terms) for w in windows.get(n, [])), default=0.0)
            if best < config.support_threshold and plain and any(_holds(w.plain, plain) for w in windows.get(n, [])):
                best = 1.0    # said verbatim (a short reply: a number, a name) by the cited sentence
            lexical[(i, n)] = best
            if best < config.support_threshold:
                pending.append((i, n))
        out.append(statement)
    semantic = _similarities(statements, windows, pending, embedder)
    for i, statement in enumerate(out):
        if not statement.citations:
            continue
        scores = {n: max(lexical[(i, n)], scale * semantic.get((i, n), 0.0)) for n in statement.citations}
        supporting = tuple(n for n, s in scores.items() if s >= config.support_threshold)
        support = max(scores.values())
        out[i] = replace(statement, supported=bool(supporting), support=float(support), supporting=supporting)
    return out


def _similarities(statements: list[Statement], windows: Mapping[int, list[_Unit]],
                  pending: list[tuple[int, int]], embedder: Embedder) -> dict[tuple[int, int], float]:
    """Best cosine between a statement and the sentences of a cited passage
    written in the other script, for the (statement, passage) pairs that
    lexical recall did not settle. Both sides get the query prefix: e5 wants
    that for symmetric similarity."""
    wanted: dict[tuple[int, int], list[str]] = {}
    for i, n in pending:
        chinese = is_chinese(statements[i].text)
        others = [w.text for w in windows.get(n, []) if w.chinese != chinese]
        if others:
            wanted[(i, n)] = others
    if not wanted:
        return {}
    texts = list(dict.fromkeys([statements[i].text for i, _ in wanted]
                               + [t for others in wanted.values() for t in others]))
    vectors = dict(zip(texts, embedder.embed_queries(texts)))
    return {(i, n): float(max(vectors[t] @ vectors[statements[i].text] for t in others))
            for (i, n), others in wanted.items()}


def _windows(passage: str) -> list[_Unit]:
    """Each unit of the passage, and each pair of adjacent units (a statement
    may condense two of them)."""
    parts = [u.text for u in units(passage)] or ([passage] if passage.strip() else [])
    texts = parts + [a + b for a, b in zip(parts, parts[1:])]
    return [_Unit(t, terms(t), is_chinese(t), _plain(t)) for t in texts]


def _plain(text: str) -> str:
    """``text`` folded, numbers written as plain digits ("5,464" and
    "五千四百六十四" as "5464", "二〇〇八" as "2008", "3.50" as "3.5"), then
    only letters, digits, ideographs and decimal points kept: what
    "verbatim" compares."""
    folded = fold(text)
    folded = _ARABIC_NUMBER.sub(lambda m: _decimal(m.group().replace(",", "")), folded)
    folded = _ZH_NUMBER.sub(lambda m: _zh_digits(m.group(), folded[m.end():m.end() + 1]), folded)
    return "".join(ch for ch in folded if ch.isalnum() or ch == ".").strip(".")


def _decimal(number: str) -> str:
    """An Arabic number without trailing zeros after its point ("3.50" -> "3.5", "2.0" -> "2")."""
    return number.rstrip("0").rstrip(".") if "." in number else number


def _zh_digits(numeral: str, following: str) -> str:
    """A run of Chinese numerals as digits when it is a number: a value
    (二十三, 五千四百六十四), a digit string of three or more (二〇〇八), or a
    single numeral before a measure word (三个); else unchanged (统一)."""
    if len(numeral) >= 3 and all(ch in ZH_DIGITS for ch in numeral):
        return "".join(str(ZH_DIGITS[ch]) for ch in numeral)
    if len(numeral) == 1 and not (following and following in _ZH_NUMBER_FOLLOWERS):
        return numeral
    value = parse_chinese(numeral)
    return str(value) if value is not None else numeral


def _holds(window: str, needle: str) -> bool:
    """Whether plain ``needle`` stands in plain ``window`` without cutting a
    number: a needle starting (ending) with a digit may not have a digit,
    or a decimal point and a digit, just before (after) it."""
    start = window.find(needle)
    while start >= 0:
        end = start + len(needle)
        before, after = window[max(start - 2, 0):start], window[end:end + 2]
        cut_left = needle[0].isdigit() and (before[-1:].isdigit() or (before[-1:] == "." and before[:1].isdigit()))
        cut_right = needle[-1].isdigit() and (after[:1].isdigit() or (after[:1] == "." and after[1:].isdigit()))
        if not (cut_left or cut_right):
            return True
        start = window.find(needle, start + 1)
    return False


def passage_texts(passages: Passages) -> dict[int, str]:
    """What each citable number ``n`` refers to, as text."""
    if isinstance(passages, Mapping):
        return {int(n): str(t) for n, t in passages.items()}
    out: dict[int, str] = {}
    for position, item in enumerate(passages, start=1):
        if isinstance(item, Citation):
            out[item.n] = item.text
        elif isinstance(item, Hit):
            out[position] = item.chunk.text
        elif isinstance(item, Chunk):
            out[position] = item.text
        else:
            out[position] = str(item)
    return out


# --- report helpers --------------------------------------------------------

def citation_precision(statements: Sequence[Statement]) -> float:
    """Share of citations that, on their own, support the statement carrying
    them (1.0 when there are no citations: nothing was cited wrongly)."""
    cited = sum(len(s.citations) for s in statements)
    if cited == 0:
        return 1.0
    return sum(len(s.supporting) for s in statements) / cited


def citation_coverage(statements: Sequence[Statement]) -> float:
    """Share of the statements that claim something (not connective text)
    which carry a citation that supports them (1.0 when there are none)."""
    claims = [s for s in statements if s.citations or not is_trivial(s.text)]
    if not claims:
        return 1.0
    return sum(1 for s in claims if s.citations and s.supported) / len(claims)


def unsupported(statements: Sequence[Statement]) -> list[Statement]:
    """The statements that claim something and are not backed by a citation."""
    return [s for s in statements if s.supported is False]


def dangling_markers(statements: Sequence[Statement]) -> list[int]:
    """Markers that named no passage, in order of appearance."""
    return [n for s in statements for n in s.dangling]
