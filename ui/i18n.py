"""Interface strings in Chinese and English.

``t(key, lang, **values)`` formats one string; an unknown language falls back
to Chinese (the project is Chinese-first), an unknown key raises KeyError so
that a typo fails a test instead of showing a blank label.
"""

from __future__ import annotations

from typing import Any, Callable

from ui.updates import Change

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"

STRINGS: dict[str, dict[str, str]] = {
    # page
    "title": {"zh": "文档问答", "en": "Document Q&A"},
    "subtitle": {"zh": "答案摘自你的文档，每句都标明出处。完全在本机运行。",
                 "en": "Answers quoted from your documents, every sentence cited. Runs entirely on this machine."},
    # status line
    "status_ready": {"zh": "索引：{documents} 个文档 · {chunks} 个段落 · 构建于 {built_at}",
                     "en": "Index: {documents} documents · {chunks} passages · built {built_at}"},
    "status_changed": {"zh": "自上次构建以来有 {n} 个文件变化 — 请重建",
                       "en": "{n} files changed since — rebuild"},
    "status_missing": {"zh": "没有可用的索引", "en": "No usable index"},
    "status_fix": {"zh": "点击“重建索引”来修复。", "en": "Click “Rebuild index” to fix it."},
    "status_warning": {"zh": "注意", "en": "Note"},
    "status_building": {"zh": "正在重建索引…（仍用上一个索引回答）",
                        "en": "Rebuilding the index… (answers still come from the previous one)"},
    "rebuild_now": {"zh": "重建索引", "en": "Rebuild index"},
    # tabs
    "tab_chat": {"zh": "对话", "en": "Chat"},
    "tab_documents": {"zh": "文档", "en": "Documents"},
    "tab_settings": {"zh": "设置", "en": "Settings"},
    # chat
    "chatbot": {"zh": "对话", "en": "Conversation"},
    "chat_placeholder": {"zh": "向你的文档提问。答案中的 [1] 等编号可以点击，右侧会显示对应的原文。",
                         "en": "Ask your documents a question. Click a marker such as [1] in an answer "
                               "to see its passage on the right."},
    "question": {"zh": "问题", "en": "Question"},
    "question_placeholder": {"zh": "输入问题，按 Enter 发送", "en": "Type a question and press Enter"},
    "ask": {"zh": "提问", "en": "Ask"},
    "clear": {"zh": "清空对话", "en": "Clear"},
    "copy_answer": {"zh": "复制答案（Markdown）", "en": "Copy answer (Markdown)"},
    "copied": {"zh": "已复制最近一个答案（含引用）。", "en": "Copied the last answer with its citations."},
    "nothing_to_copy": {"zh": "还没有答案可复制。", "en": "There is no answer to copy yet."},
    "export": {"zh": "导出对话（Markdown）", "en": "Export conversation (Markdown)"},
    "examples": {"zh": "示例问题", "en": "Example questions"},
    "sources": {"zh": "出处", "en": "Sources"},
    "sources_empty": {"zh": "提问后，这里列出答案引用的原文段落。",
                      "en": "The passages an answer cites appear here after you ask."},
    "empty_question": {"zh": "请先输入问题。", "en": "Type a question first."},
    "thinking": {"zh": "正在检索…", "en": "Searching…"},
    "understood_as": {"zh": "理解为：{q}", "en": "Understood as: {q}"},
    "note": {"zh": "说明：{note}", "en": "Note: {note}"},
    # the engine's notes (rag.records.Note), by key
    "note_question_cut": {"zh": "问题过长，只使用了前 {limit} 个字",
                          "en": "the question was cut to its first {limit} characters"},
    "note_invalid_characters": {"zh": "问题中无法识别的字符（无效的 UTF-8 或孤立代理项）已替换为 \ufffd",
                                "en": "characters that are not valid text (invalid UTF-8, lone surrogates) "
                                      "were replaced by \ufffd"},
    "note_question_cleaned": {"zh": "已从问题中去除标记（HTML 等）或控制字符",
                              "en": "markup or control characters were removed from the question"},
    "note_no_content": {"zh": "问题中没有可以检索的实词", "en": "the question has no content words left to search for"},
    "note_sources_in_chinese": {"zh": "资料为中文，引文保留原文",
                                "en": "The sources are in Chinese: the quotations below are in their original "
                                      "language."},
    "unsupported": {"zh": "未被引用段落支持", "en": "not supported by the cited passages"},
    "unsupported_summary": {"zh": "有 {n} 处陈述未被引用的段落支持（已标出）。",
                            "en": "{n} statement(s) are not supported by the passages they cite (marked)."},
    "abstained_sources": {"zh": "最接近的段落（不足以回答）", "en": "Nearest passages (not enough to answer)"},
    "other_hits": {"zh": "其他检索到的段落（{n}）", "en": "Other retrieved passages ({n})"},
    "turn_heading": {"zh": "第 {n} 问：{q}", "en": "Q{n}: {q}"},
    "earlier_turns": {"zh": "之前的问题", "en": "Earlier questions"},
    "page": {"zh": "第 {n} 页", "en": "p. {n}"},
    "relevance": {"zh": "相关度 {score}", "en": "relevance {score}"},
    "found_by": {"zh": "检索方式：{how}", "en": "found by: {how}"},
    "retriever_dense": {"zh": "语义", "en": "dense"},
    "retriever_lexical": {"zh": "关键词", "en": "lexical"},
    "retriever_both": {"zh": "语义 + 关键词", "en": "dense + lexical"},
    "context": {"zh": "前后文", "en": "Surrounding text"},
    "whole_section": {"zh": "整个章节：{section}", "en": "Whole section: {section}"},
    "whole_document": {"zh": "整篇文档", "en": "Whole document"},
    "error": {"zh": "出错了：{error}", "en": "Something went wrong: {error}"},
    "index_problem": {"zh": "还不能回答：{error}", "en": "Cannot answer yet: {error}"},
    "llm_endpoint_refused": {"zh": "服务器不允许使用大模型地址 {url}（只允许本机地址，或服务器 --llm-endpoints 列出的地址）。",
                             "en": "The server does not allow the LLM endpoint {url} (only loopback addresses, "
                                   "or those the server lists with --llm-endpoints)."},
    "llm_unavailable": {"zh": "未配置大模型地址，已用摘录方式回答。",
                        "en": "No LLM endpoint is configured; answered extractively."},
    # markdown export
    "md_title": {"zh": "对话导出", "en": "Conversation export"},
    "md_question": {"zh": "问", "en": "Q"},
    "md_answer": {"zh": "答", "en": "A"},
    "md_sources": {"zh": "引用：", "en": "Sources:"},
    "md_unsupported": {"zh": "（未被引用段落支持）", "en": "(not supported by the cited passages)"},
    # documents tab
    "documents_table": {"zh": "语料库中的文档", "en": "Documents in the corpus"},
    "col_file": {"zh": "文件", "en": "File"},
    "col_title": {"zh": "标题", "en": "Title"},
    "col_format": {"zh": "格式", "en": "Format"},
    "col_size": {"zh": "大小", "en": "Size"},
    "col_chunks": {"zh": "段落数", "en": "Chunks"},
    "col_indexed": {"zh": "索引时间", "en": "Indexed at"},
    "col_status": {"zh": "状态", "en": "Status"},
    "doc_indexed": {"zh": "已索引", "en": "indexed"},
    "doc_changed": {"zh": "已修改，待重建", "en": "changed, rebuild"},
    "doc_new": {"zh": "新文件，待重建", "en": "new, rebuild"},
    "doc_failed": {"zh": "失败：{reason}", "en": "failed: {reason}"},
    "doc_removed": {"zh": "已删除，待重建", "en": "removed, rebuild"},
    "upload": {"zh": "上传文档（可一次选多个：.txt .md .pdf .docx .html）",
               "en": "Upload documents (several at once: .txt .md .pdf .docx .html)"},
    "upload_limit": {"zh": "单个文件最大 {mb} MB。上传后自动增量重建索引。",
                     "en": "At most {mb} MB per file. The index is rebuilt incrementally after an upload."},
    "uploaded": {"zh": "已加入语料库：{names}", "en": "Added to the corpus: {names}"},
    "uploaded_renamed": {"zh": "已有同名文档 {name}，新文件另存为 {stored}（原文档未被替换）",
                         "en": "A document named {name} exists: the new file was saved as {stored} "
                               "(the existing one is unchanged)"},
    "upload_failed": {"zh": "未加入：{reason}", "en": "Not added: {reason}"},
    "delete_choice": {"zh": "选择要删除的文档", "en": "Document to delete"},
    "delete": {"zh": "删除文档", "en": "Delete document"},
    "deleted": {"zh": "已从语料库删除：{name}", "en": "Deleted from the corpus: {name}"},
    "delete_none": {"zh": "请先选择一个文档。", "en": "Choose a document first."},
    "rebuild": {"zh": "增量重建", "en": "Rebuild"},
    "full_rebuild": {"zh": "完全重建", "en": "Full rebuild"},
    "build_done": {"zh": "已索引 {documents} 个文档、{chunks} 个段落（新向量化 {embedded} 个文档，"
                         "复用 {reused} 个），用时 {seconds:.1f} 秒。",
                   "en": "Indexed {documents} documents, {chunks} passages ({embedded} embedded, "
                         "{reused} reused) in {seconds:.1f} s."},
    "build_skipped": {"zh": "跳过 {n} 个文件：{reasons}", "en": "Skipped {n} file(s): {reasons}"},
    "build_failed": {"zh": "重建失败：{error}（仍在使用上一个索引）",
                     "en": "Rebuild failed: {error} (still serving the previous index)"},
    "stage_load": {"zh": "读取文档", "en": "Loading"},
    "stage_embed": {"zh": "向量化", "en": "Embedding"},
    "stage_index": {"zh": "建立索引", "en": "Indexing"},
    "stage_publish": {"zh": "发布新索引", "en": "Publishing"},
    "terms_label": {"zh": "跨语言术语表", "en": "cross-lingual term table"},
    "time_left": {"zh": "每秒 {rate} 条，约剩 {minutes} 分钟", "en": "{rate}/s, about {minutes} min left"},
    # settings tab
    "top_k": {"zh": "检索段落数", "en": "Passages to retrieve"},
    "mode": {"zh": "回答方式", "en": "Answer mode"},
    "mode_extractive": {"zh": "摘录原文（不用大模型）", "en": "Extractive (no LLM)"},
    "mode_llm": {"zh": "大模型生成（需配置）", "en": "LLM (when configured)"},
    "llm_endpoint": {"zh": "大模型地址（OpenAI 兼容的 http(s) URL）",
                     "en": "LLM endpoint (OpenAI-compatible http(s) URL)"},
    "llm_endpoint_locked": {"zh": "大模型地址（由服务器设定）", "en": "LLM endpoint (set by the server)"},
    "llm_model": {"zh": "模型名称", "en": "Model name"},
    "language": {"zh": "界面语言", "en": "Interface language"},
    "settings_note": {"zh": "设置保存在本浏览器中，只影响你自己的会话。",
                      "en": "Settings are kept in this browser and apply to your session only."},
}


def t(key: str, lang: str = DEFAULT_LANGUAGE, **values: object) -> str:
    """The string ``key`` in ``lang``, formatted with ``values``."""
    entry = STRINGS[key]
    text = entry.get(lang) or entry[DEFAULT_LANGUAGE]
    return text.format(**values) if values else text


def note_text(note: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """An answer's note in ``lang``: a :class:`rag.records.Note` whose key has
    a string here is translated; any other note is shown as it is."""
    key = getattr(note, "key", "")
    if key and f"note_{key}" in STRINGS:
        return t(f"note_{key}", lang, **getattr(note, "values", {}))
    return str(note)


def pick_language(preferred: str | None, browser: str | None = None) -> str:
    """The saved choice when there is one, else the browser's language
    (``zh-CN``, ``zh-TW``, ``zh`` -> zh; anything else -> en), else zh."""
    if preferred in LANGUAGES:
        return preferred
    if browser:
        return "zh" if browser.strip().lower().startswith("zh") else "en"
    return DEFAULT_LANGUAGE


class Labels:
    """The texts of the page that follow the interface language: each one a
    component's property (its label, placeholder, value, choices) and the
    string key, or a function of the language, that makes it.

    The layout registers them as it makes the components; a language change
    sends :meth:`changes` to :attr:`components`, in the same order.
    """

    def __init__(self) -> None:
        self._entries: list[tuple[Any, str, str | Callable[[str], Any]]] = []

    def add(self, component: Any, prop: str, key: str | Callable[[str], Any]) -> Any:
        """Register ``component``'s ``prop`` as ``key`` in the current language; returns the component."""
        if not callable(key):
            t(key)          # a typo fails when the page is made, not when the language changes
        self._entries.append((component, prop, key))
        return component

    @property
    def components(self) -> list[Any]:
        return [component for component, _, _ in self._entries]

    def changes(self, lang: str) -> list[Change]:
        return [Change(**{prop: key(lang) if callable(key) else t(key, lang)}) for _, prop, key in self._entries]
