"""jieba, loaded once per process: the word segmenter and a POS tagger over
the same dictionary.

Loading jieba's dictionary takes about a second (its marshalled prefix
dictionary) and the POS tagger's word-tag table about half a second more;
BM25 (:mod:`rag.index.lexical`) and the short-answer spans
(:mod:`rag.answer.spans`) used to load a dictionary each, which a cold
``python -m rag ask`` paid twice.
"""

from __future__ import annotations

import logging
import threading

_lock = threading.Lock()
_segmenter = None
_tagger = None


def segmenter():
    """jieba's word segmenter (``lcut``, ``lcut_for_search``).

    A private ``jieba.Tokenizer`` rather than the module-level one, so words
    that other code adds to jieba's global dictionary cannot change our terms.
    """
    global _segmenter
    if _segmenter is None:
        with _lock:
            if _segmenter is None:
                import jieba

                # jieba announces its dictionary load ("Building prefix dict...")
                # through its logger; only real problems should be heard.
                jieba.setLogLevel(logging.WARNING)
                tokenizer = jieba.Tokenizer()
                tokenizer.initialize()
                _segmenter = tokenizer
    return _segmenter


def pos_tagger():
    """jieba's POS tagger (``lcut`` -> pairs with ``.word`` and ``.flag``)
    over :func:`segmenter`'s dictionary."""
    global _tagger
    if _tagger is None:
        words = segmenter()
        with _lock:
            if _tagger is None:
                import jieba.posseg

                class Tagger(jieba.posseg.POSTokenizer):
                    # jieba.posseg builds its default tagger, and its word-tag
                    # table, on import; this one shares that table and tags
                    # over the segmenter's dictionary instead of loading
                    # jieba's global one as well.
                    def __init__(self) -> None:
                        self.tokenizer = words
                        self.word_tag_tab = jieba.posseg.dt.word_tag_tab

                _tagger = Tagger()
    return _tagger
