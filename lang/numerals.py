"""Numbers written in words: Chinese numerals (十一, 二十三, 一百零五),
English ordinals (first ... tenth), and the measure words that make a
Chinese numeral a count.

One parser, used wherever a number written in words has to become an int:
the chunker's heading numbers (``三、``), an answer's list items (``二是``),
a follow-up's reference (``第二点``).
"""

from __future__ import annotations

# Digits: 两 is the 2 of counts (两个, 第两点 is not written, but 两 is read).
ZH_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
             "九": 9}
ZH_POWERS = "十百千万亿"
# Every character a Chinese numeral is written with, for regex classes.
ZH_NUMERAL_CHARS = "".join(ZH_DIGITS) + ZH_POWERS
_SMALL_POWERS = {"十": 10, "百": 100, "千": 1000}

EN_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
               "eighth": 8, "ninth": 9, "tenth": 10}

# Measure words that make "几 + word" a question about a count (几个, 几名,
# 几次, 几年) and a numeral before them a quantity. Left out on purpose:
# 点/种/类/方面 (有哪几点要求, 分为几种 ask for a list), 月/号 (几月几号 asks
# for a date), 分 (十分 = "very").
COUNT_MEASURES = ("个", "名", "人", "位", "次", "年", "岁", "天", "周", "家", "所", "座", "倍", "届", "场",
                  "部", "本", "首", "张", "只", "头", "条", "项", "层", "辆", "架", "艘", "间", "户", "成",
                  "股", "支", "件", "台", "枚", "颗", "棵", "块", "门", "集", "轮", "局", "球")


def parse_chinese(numeral: str) -> int | None:
    """Value of a Chinese numeral below 10000 (十一, 二十三, 一百零五, 两千);
    None when the characters do not form one ("一二", "百")."""
    if not numeral:
        return None
    total, digit = 0, None
    for c in numeral:
        if c in ZH_DIGITS:
            if digit is not None and digit != 0:
                return None   # "一二" is not a number
            digit = ZH_DIGITS[c]
        elif c == "十":
            total += (1 if digit is None else digit) * 10
            digit = None
        elif c in _SMALL_POWERS:
            if digit is None:
                return None
            total += digit * _SMALL_POWERS[c]
            digit = None
        else:
            return None
    return total + (digit or 0)


def number_value(token: str) -> int | None:
    """Value of a number as an enumeration writes it: Arabic digits, a
    Chinese numeral, or an English ordinal word ("second", "Thirdly" is not
    one: strip the -ly first). None when ``token`` is none of these."""
    if token.isdigit():
        return int(token)
    if token.lower() in EN_ORDINALS:
        return EN_ORDINALS[token.lower()]
    return parse_chinese(token)
