"""Stop words: words that carry no topic, by language.

Two uses, two sizes. The BM25 index (:mod:`rag.index.lexical`) drops the
short lists below from every text it indexes and every query; they are kept
short on purpose (地 "ground" and 之 in names stay), and changing them
changes an index's terms (bump ``TOKENIZER_VERSION`` there). A question's
terms (:func:`lang.terms.terms` with ``question=True``) leave out more: all
English function words, and the Chinese question words of
:mod:`lang.questions`.
"""

from __future__ import annotations

# Function words that carry no topic. Questions are full of them (什么, 哪些,
# how, what), and a term that is rare in the corpus but frequent in questions
# would otherwise pull in passages that happen to ask something.
STOPWORDS_ZH = frozenset(
    "的 了 是 在 和 与 及 或 等 也 都 就 这 那 这个 那个 "
    "什么 哪些 哪个 哪里 怎么 怎样 如何 为什么 为何 多少 谁 吗 呢 吧 啊 呀".split()
)
STOPWORDS_EN = frozenset(
    "a an the of to in on at for by with from and or is are was were be been "
    "it its this that these those what which who whom how why when where do does did".split()
)
STOPWORDS = STOPWORDS_ZH | STOPWORDS_EN

# English words that are never content on their own in a question: the BM25
# list and the rest of the function words questions are made of.
QUESTION_STOPWORDS_EN = STOPWORDS_EN | frozenset("""
as but not no being doing have has had whose there here they them their should would could can may might
must will shall i you he she we me my your our his her about into than then so if any all some such very
more most also just
""".split())
