"""ingest.formats.html: the visible text and headings of a page, page chrome
dropped, the title from <title> or <h1>, declared and undeclared charsets."""

from __future__ import annotations

from ingest.loaders import load_document
from sample_files import ESSAY_TEXT, HTML, write


def test_html_drops_script_style_nav_and_page_chrome(tmp_path):
    doc = load_document(write(tmp_path, "page.html", HTML), tmp_path)
    assert doc.format == "html"
    assert doc.title == "创新组织工作经验交流"
    for junk in ["secret", "不要索引", "color", "首页", "关于本站", "页眉", "相关文章", "搜索", "版权所有"]:
        assert junk not in doc.text
    lines = doc.text.split("\n")
    assert lines[0] == "创新组织工作经验交流"
    assert "组织部门作为党的建设的重要职能部门,肩负着重要使命。" in lines
    assert "必须解放思想,实事求是。" in lines and "与时俱进,开拓创新。" in lines
    assert "第一项" in lines and "制度 | 任前公示制" in lines
    assert [(h.level, h.title) for h in doc.headings] == [
        (1, "创新组织工作经验交流"), (2, "一、重要性和必要性"), (3, "(一)本质要求")]
    for h in doc.headings:
        assert doc.text[h.start:h.end] == h.title


def test_html_title_falls_back_to_h1(tmp_path):
    page = "<html><body><h1>组织工作</h1><p>正文。</p></body></html>"
    assert load_document(write(tmp_path, "p.htm", page), tmp_path).title == "组织工作"


def test_gbk_html_with_meta_charset_decodes(tmp_path):
    page = ('<html><head><meta charset="gbk"><title>组织工作</title></head>'
            "<body><p>深入贯彻落实“三个代表”重要思想。</p></body></html>")
    doc = load_document(write(tmp_path, "gbk.html", page.encode("gbk")), tmp_path)
    assert doc.title == "组织工作"
    assert "深入贯彻落实“三个代表”重要思想。" in doc.text


def test_gbk_html_without_declared_charset_decodes_like_a_text_file(tmp_path):
    page = "<html><head><title>组织工作</title></head><body><p>" + ESSAY_TEXT[101:400] + "</p></body></html>"
    doc = load_document(write(tmp_path, "nometa.html", page.encode("gbk")), tmp_path)
    assert doc.title == "组织工作"
    assert "深入贯彻落实“三个代表”重要思想" in doc.text
