"""ingest.front_matter: titles, metadata lines (``时间:…``) and YAML blocks
at the top of a document recognised, and the body starting after them."""

from __future__ import annotations

from ingest.front_matter import front_matter, is_metadata_line, title_of
from ingest.loaders import load_document
from sample_files import ESSAY_TEXT, write


def test_essay_metadata_lines_become_english_keyed_metadata(tmp_path):
    doc = load_document(write(tmp_path, "essay.txt", ESSAY_TEXT), tmp_path)
    assert doc.metadata["date"] == "2022-11-18 02:39:00"
    assert doc.metadata["summary"].startswith("创新组织工作经验交流一文来源于网友上传")
    # They stay in the text: offsets index the file as it is.
    assert "时间:2022-11-18 02:39:00" in doc.text


def test_metadata_lines_accept_both_colons_and_common_keys(tmp_path):
    text = ("加强干部队伍建设\n来源：人民网\n作者: 张三\n发布时间：2023-01-05\n\n"
            "正文第一句。正文第二句。\n")
    doc = load_document(write(tmp_path, "m.txt", text), tmp_path)
    assert doc.title == "加强干部队伍建设"
    assert doc.metadata == {"source": "人民网", "author": "张三", "date": "2023-01-05"}
    assert text[front_matter(text, doc.title).body_start:].startswith("正文第一句")


def test_metadata_line_recognition():
    assert is_metadata_line("时间:2022-11-18 02:39:00")
    assert is_metadata_line("导语：创新组织工作经验交流")
    assert is_metadata_line("Author: Jane Doe")
    assert not is_metadata_line("时间就是生命。")
    assert not is_metadata_line("概括起来主要有以下几个方面:一是思想观念上缺乏创新精神。")


def test_a_metadata_sentence_in_the_body_is_not_front_matter(tmp_path):
    text = "标题\n\n正文。\n\n来源:这一行在正文里。\n"
    doc = load_document(write(tmp_path, "x.txt", text), tmp_path)
    assert doc.metadata == {}
    assert text[front_matter(text, doc.title).body_start:].startswith("正文。")


def test_title_is_first_line_capped_and_falls_back_to_the_stem(tmp_path):
    long_line = "长" * 150 + "。\n第二行。\n"
    assert load_document(write(tmp_path, "long.txt", long_line), tmp_path).title == "长" * 100
    # A first line longer than the title is body text, not front matter.
    assert front_matter(long_line, "长" * 100).body_start == 0
    only_meta = "时间:2022-11-18\n"
    assert load_document(write(tmp_path, "只有元数据.txt", only_meta), tmp_path).title == "只有元数据"


def test_yaml_front_matter_of_markdown_gives_title_and_metadata():
    text = "---\ntitle: 组织工作\nauthor: 张三\ndate: 2023-01-01\n---\n\n# 组织工作\n\n正文。\n"
    assert title_of(text) == "组织工作"
    front = front_matter(text, "组织工作")
    assert front.metadata == {"author": "张三", "date": "2023-01-01"}
    assert text[front.body_start:] == "正文。\n"
