"""The Chinese-aware BM25 retriever: tokenizer, ranking, persistence."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rag.config import Tokenizer
from rag.index.lexical import (META_FILE, STOPWORDS, LexicalIndex, LexicalIndexError, LexicalMatch, tokenize,
                               tokenize_many)

JIEBA = Tokenizer.JIEBA

PROJECT_ROOT = Path(__file__).resolve().parents[3]

PASSAGES = [
    "北京大学是中国著名的综合性大学，创建于1898年，初名京师大学堂。",
    "长江是亚洲第一长河，全长约6300公里，流经青海、西藏、四川等省份。",
    "熊猫主要生活在四川的山区竹林中，以竹子为主要食物。",
    "组织部门要建立健全干部教育培训机制，明确规定培训的内容和考核手段。",
    "Python is a programming language that lets you work quickly and integrate systems effectively.",
]


@pytest.fixture(scope="module")
def index() -> LexicalIndex:
    return LexicalIndex.build(PASSAGES, JIEBA)


# --- tokenizer -----------------------------------------------------------


def test_a_chinese_sentence_is_cut_into_words():
    tokens = tokenize("北京大学创建于1898年", JIEBA)
    assert len(tokens) >= 3
    assert "北京" in tokens and "大学" in tokens and "1898" in tokens
    # Search mode keeps the compound as well as its parts.
    assert "北京大学" in tokens


def test_punctuation_whitespace_and_stopwords_are_dropped():
    tokens = tokenize("什么是 干部教育培训？  的、了。", JIEBA)
    assert not STOPWORDS.intersection(tokens)
    assert all(t.strip() and any(ch.isalnum() for ch in t) for t in tokens)
    assert "培训" in tokens


def test_latin_is_normalised_to_plain_lower_case_words():
    assert tokenize("ＡＢＣ１２３，Hello   World!", JIEBA) == ["abc123", "hello", "world"]
    assert tokenize("What is the capital of France?", JIEBA) == ["capital", "france"]


def test_bigram_mode_gives_character_unigrams_and_bigrams():
    assert tokenize("自然语言", mode="bigram") == ["自", "然", "语", "言", "自然", "然语", "语言"]
    assert tokenize("长江 is long", mode="bigram") == ["长", "江", "长江", "long"]


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="bigram"):
        tokenize("文本", mode="words")


def test_batch_tokenizing_equals_one_by_one():
    assert tokenize_many(PASSAGES, JIEBA) == [tokenize(p, JIEBA) for p in PASSAGES]


def test_jieba_loads_without_printing():
    # A fresh process, so jieba's dictionary really is loaded here.
    code = "from rag.index.lexical import tokenize; assert tokenize('中文分词测试', 'jieba')"
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert done.stderr == ""


def test_building_and_loading_print_no_bm25s_chatter_but_its_warnings_are_heard(tmp_path):
    # As the command lines set up logging: bm25s sets its own logger to DEBUG
    # on import, which printed "DEBUG: Building index from tokens" mid-build.
    code = ("import logging, sys; logging.basicConfig(level=logging.WARNING, format='%(levelname)s: %(message)s')\n"
            "from rag.index.lexical import LexicalIndex\n"
            "LexicalIndex.build(['北京大学创建于1898年', '长江全长约6300公里'], 'jieba').save(sys.argv[1])\n"
            "LexicalIndex.load(sys.argv[1])\n"
            "logging.getLogger('bm25s').warning('a real problem')\n")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "bm25")], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert done.stderr == "WARNING: a real problem\n"


# --- ranking -------------------------------------------------------------


@pytest.mark.parametrize("query, expected", [
    ("北京大学是哪一年创建的？", 0),
    ("长江全长多少公里", 1),
    ("熊猫吃什么", 2),
    ("干部培训要规定哪些内容？", 3),
])
def test_chinese_questions_find_their_passage_first(index, query, expected):
    matches = index.search(query, 3)
    assert matches[0].index == expected
    assert matches[0].score > 0


def test_english_question_finds_english_passage(index):
    matches = index.search("Which programming language lets you work quickly?", 5)
    assert matches[0] == LexicalMatch(4, matches[0].score)
    assert matches[0].score > 0


def test_results_are_best_first_and_only_matching_rows(index):
    matches = index.search("四川", 5)
    assert {m.index for m in matches} == {1, 2}       # only the passages that say 四川
    assert [m.score for m in matches] == sorted((m.score for m in matches), reverse=True)


@pytest.mark.parametrize("query", ["量子计算机的原理", "", "   ", "？！。", "的 了 是"])
def test_queries_without_known_terms_find_nothing(index, query):
    assert index.search(query, 5) == []


def test_k_larger_than_the_corpus(index):
    assert len(index) == 5
    assert len(index.search("四川", 100)) == 2
    assert index.search("四川", 0) == []


def test_a_corpus_of_one_document():
    single = LexicalIndex.build(["熊猫生活在竹林中。"], JIEBA)
    assert len(single) == 1
    matches = single.search("熊猫住在哪里", 10)
    assert [m.index for m in matches] == [0]
    assert matches[0].score > 0


def test_an_empty_corpus_finds_nothing(tmp_path):
    empty = LexicalIndex.build([], JIEBA)
    assert len(empty) == 0
    assert empty.search("熊猫", 3) == []
    empty.save(tmp_path / "lexical")
    assert LexicalIndex.load(tmp_path / "lexical").search("熊猫", 3) == []


def test_bigram_index_ranks_too():
    bigram = LexicalIndex.build(PASSAGES, mode="bigram")
    assert bigram.mode == "bigram"
    assert bigram.search("熊猫吃什么", 3)[0].index == 2
    assert bigram.search("长江全长多少公里", 3)[0].index == 1


# --- persistence ---------------------------------------------------------


@pytest.mark.parametrize("mode", ["jieba", "bigram"])
def test_save_and_load_give_identical_results(tmp_path, mode):
    built = LexicalIndex.build(PASSAGES, mode=mode)
    built.save(tmp_path / "lexical")
    loaded = LexicalIndex.load(tmp_path / "lexical")
    assert loaded.mode == mode
    assert len(loaded) == len(built)
    for query in ["北京大学是哪一年创建的？", "熊猫吃什么", "四川", "programming language", "未知词"]:
        assert loaded.search(query, 10) == built.search(query, 10)


def test_a_loaded_index_is_searched_without_importing_bm25s_or_scipy(tmp_path):
    # A fresh process: a cold `python -m rag ask` paid ~0.3 s for bm25s's scipy import only to add up stored scores.
    LexicalIndex.build(PASSAGES, mode="jieba").save(tmp_path / "lexical")
    code = ("import sys; from rag.index.lexical import LexicalIndex\n"
            "hits = LexicalIndex.load(sys.argv[1]).search('北京大学是哪一年创建的？', 3)\n"
            "print(hits[0].index, 'bm25s' in sys.modules, 'scipy' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "lexical")], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0", "False", "False"]


def test_saving_twice_into_the_same_folder(tmp_path, index):
    LexicalIndex.build(["旧的内容"], JIEBA).save(tmp_path / "lexical")
    index.save(tmp_path / "lexical")
    assert LexicalIndex.load(tmp_path / "lexical").search("熊猫", 3) == index.search("熊猫", 3)


def test_loading_checks_the_tokenizer_mode(tmp_path, index):
    index.save(tmp_path / "lexical")
    assert json.loads((tmp_path / "lexical" / META_FILE).read_text("utf-8"))["mode"] == "jieba"
    assert LexicalIndex.load(tmp_path / "lexical", mode="jieba").mode == "jieba"
    with pytest.raises(LexicalIndexError, match="bigram"):
        LexicalIndex.load(tmp_path / "lexical", mode="bigram")


def test_missing_index_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no lexical index"):
        LexicalIndex.load(tmp_path / "nowhere")


def test_unfinished_save_is_refused(tmp_path, index):
    folder = tmp_path / "lexical"
    index.save(folder)
    (folder / META_FILE).unlink()
    with pytest.raises(FileNotFoundError):
        LexicalIndex.load(folder)


def test_missing_array_is_refused(tmp_path, index):
    folder = tmp_path / "lexical"
    index.save(folder)
    next(folder.glob("data*.npy")).unlink()
    with pytest.raises(FileNotFoundError):
        LexicalIndex.load(folder)


@pytest.mark.parametrize("damage", [
    lambda meta: "{not json",
    lambda meta: json.dumps({**meta, "documents": meta["documents"] + 1}),
    lambda meta: json.dumps({**meta, "tokenizer_version": -1}),
    lambda meta: json.dumps({**meta, "mode": "words"}),
    lambda meta: json.dumps({k: v for k, v in meta.items() if k != "mode"}),
])
def test_corrupt_or_incompatible_index_is_refused(tmp_path, index, damage):
    folder = tmp_path / "lexical"
    index.save(folder)
    meta = json.loads((folder / META_FILE).read_text("utf-8"))
    (folder / META_FILE).write_text(damage(meta), encoding="utf-8")
    with pytest.raises(LexicalIndexError):
        LexicalIndex.load(folder)


def test_damaged_vocabulary_is_refused(tmp_path, index):
    folder = tmp_path / "lexical"
    index.save(folder)
    (folder / "vocab.index.json").write_text('{"熊猫": 0}', encoding="utf-8")
    with pytest.raises(LexicalIndexError, match="corrupt"):
        LexicalIndex.load(folder)
