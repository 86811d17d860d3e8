"""ingest.outline: the section path at every offset of the essay, run-in items
closing with their paragraph, the title line outside every section."""

from __future__ import annotations

import pytest

from ingest.outline import section_at
from ingest.records import Document
from sample_files import H1, H1_1, H2, H3, H3_1, H3_4, H4, load_essay


@pytest.fixture(scope="module")
def essay(tmp_path_factory) -> Document:
    return load_essay(tmp_path_factory.mktemp("essay"))


def test_section_paths_across_the_essay(essay):
    text = essay.text
    at = text.index
    assert section_at(essay, at("深入贯彻落实")) == ""
    assert section_at(essay, at("组织部门作为党的建设")) == H1
    assert section_at(essay, at("“三个代表”重要思想具有")) == f"{H1} > {H1_1}"
    assert section_at(essay, at("多年来,我市的组织工作")) == H2
    assert section_at(essay, at("在领导班子和领导干部队伍中")) == f"{H2} > 1、领导班子思想政治建设的方式方法得到不断改进"
    # The run-in items 1、…5、 end with their paragraph; the next belongs to 二、.
    assert section_at(essay, at("在充分肯定组织工作")) == H2
    assert section_at(essay, at("在新世纪新阶段")) == f"{H3} > {H3_1}"
    assert section_at(essay, at("一是创新干部选拔任用机制")) == f"{H3} > {H3_4}"
    assert section_at(essay, at("现在还有相当一部分组工干部")) == H4
    assert section_at(essay, 0) == ""   # the title line is front matter
