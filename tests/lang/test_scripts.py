"""lang.scripts: one definition of what is Chinese, for every module that asks."""

from __future__ import annotations

import pytest

from lang.scripts import fold, has_cjk, is_chinese, is_english, is_ideograph


@pytest.mark.parametrize("ch", ["中", "㑩", "䲟", "𫖮", "𬬻", "豈", "龥", "鿿"])
def test_ideographs_include_extension_a_compatibility_and_supplementary_planes(ch):
    # 㑩/䲟: extension A; 𫖮/𬬻: supplementary plane (both occur in CMRC 2018);
    # 豈: a compatibility ideograph; 龥/鿿: the ends of the unified block.
    assert is_ideograph(ch)


@pytest.mark.parametrize("ch", ["a", "1", "。", "、", "　", "の", "한", "Ａ"])
def test_punctuation_kana_hangul_and_latin_are_not_ideographs(ch):
    assert not is_ideograph(ch)


def test_fold_makes_full_width_and_half_width_text_compare_equal():
    assert fold("ＡＢＣ１２３，") == "abc123,"


def test_a_question_with_a_rare_ideograph_is_chinese():
    assert is_chinese("𫖮是谁")
    assert has_cjk("Who is 㑩?")


def test_folding_turns_a_circled_ideograph_into_chinese():
    assert not has_cjk("㊀")           # as written, a symbol
    assert is_chinese("㊀")            # NFKC reads it as 一


def test_english_is_latin_letters_and_no_ideograph():
    assert is_english("What is the answer?")
    assert not is_english("What is 党建?")
    assert not is_english("2024")
