"""Files the ingest tests build (PDF and Word written here, an HTML page) and
facts of the bundled essay that several test modules check against."""

from __future__ import annotations

from pathlib import Path

from support import ESSAY
from ingest.loaders import load_document
from ingest.records import Document

ESSAY_TEXT = ESSAY.read_text("utf-8")
ESSAY_TITLE = "创新组织工作经验交流"
# A real passage of the essay, with its “…” quotes and ASCII commas.
PASSAGE = ("(一)创新组织工作方式方法是实践“三个代表”重要思想的本质要求。"
           "“三个代表”重要思想具有与时俱进的马克思主义理论品质。")

# Headings of the essay.
H1 = "一、创新组织工作方式方法的重要性和必要性"
H1_1 = "(一)创新组织工作方式方法是实践“三个代表”重要思想的本质要求"
H1_2 = "(二)创新组织工作方式方法是改革开放和建设有中国特色社会主义现代化事业的时代要求"
H1_3 = "(三)创新组织工作方式方法是新的历史条件下组织工作自我完善、自我发展的基本要求"
H2 = "二、对当前组织工作方式方法创新的现状及存在问题的分析"
H3 = "三、以与时俱进的精神创新组织工作方式方法"
H3_1 = "(一)在工作思路上要找准结合点"
H3_4 = "(四)在工作机制上要突出着力点"
H4 = "四、以与时俱进的队伍落实组织工作"


# --- builders ---------------------------------------------------------------------


def make_pdf(pages: list[list[str]]) -> bytes:
    """A minimal valid PDF, written by hand: one Helvetica text line per string
    (ASCII only: the standard fonts have no Chinese glyphs), one page per list.
    An empty list gives a page without a text layer."""
    objects: list[bytes] = []
    n_pages = len(pages)
    page_ids = [4 + 2 * i for i in range(n_pages)]
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % i for i in page_ids)
                   + b"] /Count %d >>" % n_pages)
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    for i, lines in enumerate(pages):
        content_id = page_ids[i] + 1
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                       b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % content_id)
        if lines:
            ops = ["BT", "/F1 12 Tf", "16 TL", "72 720 Td"]
            for line in lines:
                escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
                ops += [f"({escaped}) Tj", "T*"]
            ops.append("ET")
        else:
            ops = ["0 0 1 rg", "72 72 200 200 re", "f"]   # a picture, no text
        stream = "\n".join(ops).encode("latin-1")
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def make_docx(path: Path) -> Path:
    """A Word file with a title, two heading levels, body paragraphs from the
    essay and a table."""
    import docx

    document = docx.Document()
    document.add_heading("创新组织工作经验交流", 0)                       # style "Title"
    document.add_heading("一、创新组织工作方式方法的重要性和必要性", 1)   # "Heading 1"
    document.add_paragraph("组织部门作为党的建设的重要职能部门,肩负着带头实践“三个代表”重要思想的重要使命。"
                           "必须根据不断发展变化的形势、任务和出现的新情况新问题,解放思想,实事求是。")
    document.add_heading("(一)本质要求", 2)                               # "Heading 2"
    document.add_paragraph(PASSAGE)
    document.add_heading("二、现状及存在问题", 1)
    document.add_paragraph("多年来,我市的组织工作不断适应形势的发展变化,不断改进和完善工作方式方法。")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "制度"
    table.cell(0, 1).text = "任前公示制"
    table.cell(1, 0).text = "机制"
    table.cell(1, 1).text = "全委会表决制"
    document.save(str(path))
    return path


HTML = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>创新组织工作经验交流</title>
<style>body { color: red }</style>
<script>var secret = "不要索引这段脚本";</script></head>
<body>
<nav><a href="/">首页</a> | <a href="/about">关于本站</a></nav>
<header>网站页眉广告</header>
<article>
<h1>创新组织工作经验交流</h1>
<p>深入贯彻落实“三个代表”重要思想对组织工作提出的新要求,推动组织工作与时俱进。</p>
<h2>一、重要性和必要性</h2>
<p>组织部门作为党的建设的重要职能部门,<b>肩负着</b>重要使命。</p>
<div>必须解放思想,实事求是。<br>与时俱进,开拓创新。</div>
<h3>(一)本质要求</h3>
<ul><li>第一项</li><li>第二项</li></ul>
<table><tr><th>制度</th><td>任前公示制</td></tr></table>
</article>
<aside>相关文章推荐</aside>
<form><input name="q"><button>搜索</button></form>
<footer>版权所有</footer>
</body></html>
"""


def write(folder: Path, name: str, data: bytes | str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, "utf-8", newline="")
    else:
        path.write_bytes(data)
    return path


def load_essay(folder: Path) -> Document:
    """The bundled essay, written into ``folder`` and loaded from there."""
    return load_document(write(folder, ESSAY.name, ESSAY_TEXT), folder)
