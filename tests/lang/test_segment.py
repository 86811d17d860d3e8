"""lang.segment: one jieba dictionary per process, shared by the BM25
segmenter and the POS tagger, which tags as jieba's own tagger does."""

from __future__ import annotations

from lang.segment import pos_tagger, segmenter

TEXT = "党的十六大提出了全面建设小康社会的宏伟目标，2002年11月在北京召开。"


def test_the_tagger_uses_the_segmenters_dictionary():
    assert pos_tagger().tokenizer is segmenter()
    assert pos_tagger() is pos_tagger() and segmenter() is segmenter()


def test_the_tagger_tags_as_jiebas_default_tagger():
    import jieba.posseg

    ours = [(p.word, p.flag) for p in pos_tagger().lcut(TEXT)]
    assert ours == [(p.word, p.flag) for p in jieba.posseg.lcut(TEXT)]
    assert ("北京", "ns") in ours and "".join(w for w, _ in ours) == TEXT
