"""The web UI: ``python app.py [--host H] [--port N] [--corpus DIR] [--index DIR] [--auth user:pass] ...``

A thin Gradio shell over :class:`rag.engine.Engine` (the same engine as
``python -m rag`` and ``python -m ingest``):

* Chat — streamed answers with clickable ``[n]`` citation markers, a sources
  panel (document, page, section, relevance, retriever, the passage with the
  cited sentence marked, its surrounding text and whole section), follow-up
  questions, copy as Markdown, export of the conversation.
* Documents — the corpus and the index side by side; upload, delete,
  incremental and full rebuild with progress. Chat keeps answering from the
  last good index while a rebuild runs.
* Settings — passages per answer, answer mode, LLM endpoint and model,
  interface language; kept in the browser, applied per request.

Binds 127.0.0.1 by default; any other address requires ``--auth``.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import sys
import tempfile
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

sys.path.insert(0, str(Path(__file__).resolve().parent))

from rag.config import Config  # noqa: E402

log = logging.getLogger("app")

SUPPORTED_UPLOADS = [".txt", ".md", ".markdown", ".pdf", ".docx", ".html", ".htm"]
EXPORT_DIR = Path(tempfile.gettempdir()) / "rag-ui-exports"


# --- exposure ----------------------------------------------------------------


def is_loopback(host: str) -> bool:
    host = host.strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def exposure_problem(host: str, auth: str) -> str | None:
    """Why the app must not start with this host and auth, or None."""
    if auth and (":" not in auth or not auth.split(":", 1)[0] or not auth.split(":", 1)[1]):
        return "--auth must be user:password (both non-empty)"
    if not is_loopback(host) and not auth:
        return (f"refusing to serve on {host}: it is reachable from other machines and the app lets anyone "
                "read, upload and delete documents. Add --auth user:password (or RAG_AUTH), or bind to "
                "127.0.0.1 (the default).")
    return None


# --- the page's script and style ------------------------------------------------

CITE_SCRIPT = """
<script>
(function () {
  if (window.__ragCiteHandler) return;
  window.__ragCiteHandler = true;
  function reveal(el) {
    for (var p = el.parentElement; p; p = p.parentElement) {
      if (p.tagName === 'DETAILS') p.open = true;
    }
    document.querySelectorAll('.src.src-active').forEach(function (x) { x.classList.remove('src-active'); });
    el.classList.add('src-active');
    // scroll the sources panel (its nearest scrolling box) so the card is at its top
    var box = el.parentElement;
    while (box && box !== document.body) {
      var style = getComputedStyle(box);
      if (/(auto|scroll)/.test(style.overflowY) && box.scrollHeight > box.clientHeight + 4) break;
      box = box.parentElement;
    }
    if (box && box !== document.body) {
      var top = el.getBoundingClientRect().top - box.getBoundingClientRect().top + box.scrollTop - 8;
      box.scrollTo({top: top, behavior: 'instant'});
    }
    el.scrollIntoView({behavior: 'instant', block: 'nearest'});
  }
  document.addEventListener('click', function (ev) {
    var a = ev.target && ev.target.closest ? ev.target.closest('a.cite') : null;
    if (!a) return;
    ev.preventDefault();
    ev.stopPropagation();
    var id = (a.getAttribute('href') || '').replace(/^#/, '');
    var el = id ? document.getElementById(id) : null;
    if (el) reveal(el);
  }, true);
})();
</script>
"""

COPY_JS = """
(md, settings) => {
  const text = md || '';
  if (text) {
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).catch(() => {});
    } else {
      const ta = document.createElement('textarea');
      ta.value = text; ta.style.position = 'fixed'; ta.style.opacity = '0';
      document.body.appendChild(ta); ta.select();
      try { document.execCommand('copy'); } catch (e) {}
      ta.remove();
    }
  }
  return [md, settings];
}
"""

LOAD_JS = "(settings, lang) => [settings, (navigator.languages && navigator.languages[0]) || navigator.language || '']"

CSS = """
.gradio-container { max-width: 1400px !important; }
#app-header h1 { margin: 0; font-size: 1.5rem; }
#app-header p { margin: 2px 0 0; color: var(--body-text-color-subdued); font-size: 0.9rem; }
.status { padding: 6px 12px; border-radius: 8px; font-size: 0.9rem; line-height: 1.5; }
.status.ok { background: #f0fdf4; color: #166534; border: 1px solid #bbf7d0; }
.status.stale { background: #fffbeb; color: #92400e; border: 1px solid #fde68a; }
.status.bad { background: #fef2f2; color: #991b1b; border: 1px solid #fecaca; }
.status .status-changed { font-weight: 600; }
#status-row { align-items: center; }
#sources-panel { padding-right: 4px; }
.sources-empty { color: var(--body-text-color-subdued); padding: 24px 8px; text-align: center; }
.turn-q { margin: 4px 0 8px; font-size: 0.95rem; }
h4.earlier { margin: 16px 0 6px; font-size: 0.85rem; color: var(--body-text-color-subdued); }
details.turn-sources > summary { cursor: pointer; font-size: 0.9rem; margin: 4px 0; }
.src { border: 1px solid var(--border-color-primary); border-radius: 10px; padding: 8px 12px;
       margin: 0 0 10px; scroll-margin-top: 8px; transition: box-shadow .3s, background .3s; }
.src.src-active { box-shadow: 0 0 0 3px #f59e0b; background: #fffbeb; }
.src-head { font-size: 0.92rem; }
.src-n { font-weight: 700; color: #2563eb; margin-right: 2px; }
.src-title { font-weight: 600; }
.src-file, .src-meta { color: var(--body-text-color-subdued); font-size: 0.8rem; }
.src-meta span + span::before { content: ""; }
.src-passage { margin: 6px 0 4px; padding: 4px 10px; border-left: 3px solid #93c5fd; font-size: 0.92rem;
               line-height: 1.65; }
.src mark, .answer mark { background: #fde68a; color: inherit; padding: 0 1px; border-radius: 2px; }
.src details { font-size: 0.85rem; margin-top: 2px; }
.src details > summary { cursor: pointer; color: #2563eb; }
.src-text { padding: 4px 10px; line-height: 1.65; color: var(--body-text-color); max-height: 40vh; overflow-y: auto; }
.ctx-passage { background: #eff6ff; }
details.other-hits > summary { cursor: pointer; font-size: 0.85rem; color: var(--body-text-color-subdued);
                               margin: 6px 0; }
.abstained-note { font-size: 0.85rem; color: #92400e; margin: 0 0 8px; }
a.cite { color: #2563eb !important; text-decoration: none !important; font-weight: 600; cursor: pointer;
         padding: 0 1px; border-radius: 3px; }
a.cite:hover { background: #dbeafe; }
.answer { line-height: 1.7; }
.answer.abstained { color: #6b7280; }
.answer.error { color: #991b1b; }
.understood { color: var(--body-text-color-subdued); font-size: 0.85rem; margin-bottom: 4px; }
.unsupported { text-decoration: underline wavy #dc2626; text-underline-offset: 3px; }
.unsupported-flag { color: #dc2626; font-size: 0.7rem; margin-left: 2px; white-space: nowrap; }
.unsupported-summary { color: #991b1b; font-size: 0.8rem; margin-top: 6px; }
.note { color: #92400e; font-size: 0.8rem; margin-top: 4px; }
.notice { color: #b45309; font-size: 0.9rem; padding: 2px 4px; min-height: 1.2em; }
.cursor { animation: blink 1s step-start infinite; color: #9ca3af; }
@keyframes blink { 50% { opacity: 0; } }
.build-msg { font-size: 0.9rem; padding: 4px 2px; }
.build-msg.bad { color: #991b1b; }
.build-msg.ok { color: #166534; }
"""


# --- the app -----------------------------------------------------------------------


class UI:
    """The engine, the process-wide settings and the handlers of the page."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.config: Config = engine.config
        # A browser may point the answers at its own LLM endpoint only when
        # the app is for this machine alone.
        self.allow_custom_endpoint = is_loopback(self.config.host)
        self._ctx_lock = threading.Lock()
        self._ctx_store = None
        self._ctx = None

    # helpers

    def source_context(self, engine=None):
        from rag.index.store import IndexProblem
        from ui.render import SourceContext

        try:
            store = (engine or self.engine).retriever().store
        except IndexProblem:
            return None
        with self._ctx_lock:
            if store is not self._ctx_store:
                self._ctx = SourceContext.from_store(store)
                self._ctx_store = store
            return self._ctx

    def examples(self) -> list[list[str]]:
        from rag.index.store import IndexProblem
        from ui.examples import example_questions

        try:
            store = self.engine.retriever().store
        except IndexProblem:
            return []
        titles = [(d.path, d.title) for d in store.manifest.documents]
        return [[q] for q in example_questions(store.chunks, titles)]

    def settings(self, settings: Any, browser_language: str | None = None) -> dict:
        from ui.session import normalize_settings

        return normalize_settings(settings, self.config, browser_language)


def build_app(engine):
    """The gr.Blocks of the app for ``engine``."""
    import gradio as gr

    from rag.index.build import BuildError
    from rag.records import Turn
    from rag.engine import QuestionError
    from rag.index.store import IndexProblem
    from ui import render
    from ui.i18n import t
    from ui.session import ProgressTracker, default_settings, engine_for, overrides_for

    ui = UI(engine)
    config = ui.config
    initial_lang = "zh"
    translatable: list[tuple[Any, str, Any]] = []   # (component, property, key or fn(lang))

    def tr(component, prop: str, key):
        translatable.append((component, prop, key))
        return component

    def header_html(lang: str) -> str:
        return (f'<div id="app-header"><h1>{render.esc(t("title", lang))}</h1>'
                f'<p>{render.esc(t("subtitle", lang))}</p></div>')

    def mode_choices(lang: str):
        return [(t("mode_extractive", lang), "extractive"), (t("mode_llm", lang), "llm")]

    with gr.Blocks(title="文档问答 · Document Q&A", analytics_enabled=False, delete_cache=(3600, 7200)) as demo:
        settings_store = gr.BrowserState(default_settings(config), storage_key="rag-ui-settings",
                                         secret="rag-ui-settings-v1")
        session_settings = gr.State(default_settings(config))   # the live copy the handlers read
        browser_lang = gr.Textbox(visible=False)
        turns_state = gr.State([])           # [Turn] for follow-ups and export
        panel_state = gr.State([])           # [(turn, question, sources html)]
        added_state = gr.State(False)        # did an upload/delete change the corpus?

        header = tr(gr.HTML(header_html(initial_lang)), "value", header_html)
        with gr.Row(elem_id="status-row"):
            status_html = gr.HTML(elem_id="index-status", scale=8, label="index_status")
            rebuild_top = tr(gr.Button(t("rebuild_now", initial_lang), size="sm", variant="primary",
                                       visible=False, scale=1, min_width=120, elem_id="rebuild-top"),
                             "value", "rebuild_now")

        with gr.Tabs():
            with tr(gr.Tab(t("tab_chat", initial_lang), id="chat", elem_id="tab-chat"), "label", "tab_chat"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3, min_width=380):
                        chatbot = gr.Chatbot(label=t("chatbot", initial_lang), elem_id="chatbot", height=430,
                                             render_markdown=False, sanitize_html=True, latex_delimiters=[],
                                             buttons=[], feedback_options=None,
                                             placeholder=t("chat_placeholder", initial_lang))
                        tr(chatbot, "label", "chatbot")
                        tr(chatbot, "placeholder", "chat_placeholder")
                        with gr.Row(elem_id="chat-actions"):
                            clear_btn = tr(gr.Button(t("clear", initial_lang), size="sm", elem_id="clear"),
                                           "value", "clear")
                            copy_btn = tr(gr.Button(t("copy_answer", initial_lang), size="sm", elem_id="copy"),
                                          "value", "copy_answer")
                            export_btn = tr(gr.DownloadButton(t("export", initial_lang), size="sm",
                                                              interactive=False, elem_id="export"),
                                            "label", "export")
                        with gr.Row(equal_height=True):
                            question = gr.Textbox(label=t("question", initial_lang), lines=1, max_lines=4,
                                                  placeholder=t("question_placeholder", initial_lang),
                                                  scale=6, elem_id="question", autofocus=True)
                            tr(question, "label", "question")
                            tr(question, "placeholder", "question_placeholder")
                            ask_btn = tr(gr.Button(t("ask", initial_lang), variant="primary", scale=1,
                                                   min_width=90, elem_id="ask"), "value", "ask")
                        notice = gr.HTML(elem_id="notice", label="notice")
                        examples = gr.Dataset(components=[question], samples=ui.examples() or [[""]],
                                              label=t("examples", initial_lang), elem_id="examples",
                                              samples_per_page=6)
                        tr(examples, "label", "examples")
                        answer_md = gr.Textbox(visible=False, elem_id="answer-md", label="answer_markdown")
                    with gr.Column(scale=2, min_width=320):
                        sources = gr.HTML(render.render_sources_panel([], initial_lang), elem_id="sources-panel",
                                          label=t("sources", initial_lang), max_height=680)

            with tr(gr.Tab(t("tab_documents", initial_lang), id="documents", elem_id="tab-documents"),
                    "label", "tab_documents") as docs_tab:
                table = gr.Dataframe(headers=[t(k, initial_lang) for k in render.DOCUMENT_COLUMNS],
                                     datatype=["str"] * 7, interactive=False, wrap=True, elem_id="documents",
                                     label=t("documents_table", initial_lang))
                tr(table, "label", "documents_table")
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3):
                        files = gr.File(label=t("upload", initial_lang), file_count="multiple",
                                        file_types=SUPPORTED_UPLOADS, type="filepath", elem_id="upload",
                                        height=140)
                        tr(files, "label", "upload")
                        upload_note = tr(gr.Markdown(t("upload_limit", initial_lang, mb=config.upload_max_mb)),
                                         "value", lambda lang: t("upload_limit", lang, mb=config.upload_max_mb))
                    with gr.Column(scale=2):
                        delete_choice = gr.Dropdown(label=t("delete_choice", initial_lang), choices=[],
                                                    elem_id="delete-choice", allow_custom_value=False)
                        tr(delete_choice, "label", "delete_choice")
                        delete_btn = tr(gr.Button(t("delete", initial_lang), variant="stop", size="sm",
                                                  elem_id="delete"), "value", "delete")
                        with gr.Row():
                            rebuild_btn = tr(gr.Button(t("rebuild", initial_lang), variant="primary", size="sm",
                                                       elem_id="rebuild"), "value", "rebuild")
                            full_btn = tr(gr.Button(t("full_rebuild", initial_lang), size="sm",
                                                    elem_id="full-rebuild"), "value", "full_rebuild")
                build_msg = gr.HTML(elem_id="build-msg", label="build_message")

            with tr(gr.Tab(t("tab_settings", initial_lang), id="settings", elem_id="tab-settings"),
                    "label", "tab_settings"):
                defaults = default_settings(config)
                top_k = gr.Slider(1, 20, value=defaults["top_k"], step=1, label=t("top_k", initial_lang),
                                  elem_id="top-k")
                tr(top_k, "label", "top_k")
                mode = gr.Radio(mode_choices(initial_lang), value=defaults["mode"], label=t("mode", initial_lang),
                                elem_id="mode")
                tr(mode, "label", "mode")
                tr(mode, "choices", mode_choices)
                endpoint_key = "llm_endpoint" if ui.allow_custom_endpoint else "llm_endpoint_locked"
                llm = gr.Textbox(label=t(endpoint_key, initial_lang), value=config.llm if not ui.allow_custom_endpoint
                                 else "", placeholder=config.llm or "http://127.0.0.1:8080/v1",
                                 interactive=ui.allow_custom_endpoint, elem_id="llm-endpoint")
                tr(llm, "label", endpoint_key)
                llm_model = gr.Textbox(label=t("llm_model", initial_lang), value=defaults["llm_model"],
                                       elem_id="llm-model")
                tr(llm_model, "label", "llm_model")
                lang_radio = gr.Radio([("中文", "zh"), ("English", "en")], value=initial_lang,
                                      label=t("language", initial_lang), elem_id="language")
                tr(lang_radio, "label", "language")
                settings_note = tr(gr.Markdown(t("settings_note", initial_lang)), "value", "settings_note")

        # --- handlers -----------------------------------------------------------

        def relabel(lang: str) -> list:
            updates = []
            for component, prop, key in translatable:
                value = key(lang) if callable(key) else t(key, lang)
                updates.append(gr.update(**{prop: value}))
            return updates

        relabel_targets = [c for c, _, _ in translatable]

        def status_outputs(lang: str):
            status = engine.status()
            return (render.render_status(status, lang),
                    gr.update(visible=render.needs_rebuild(status)))

        def documents_outputs(lang: str):
            docs = engine.documents()
            table_value = {"headers": [t(k, lang) for k in render.DOCUMENT_COLUMNS],
                           "data": render.document_rows(docs, lang) or [[""] * 7]}
            on_disk = [d.path for d in docs if d.status != "removed"]
            return table_value, gr.update(choices=on_disk, value=None)

        def on_load(settings, language):
            s = ui.settings(settings, language)
            lang = s["lang"]
            status, show_rebuild = status_outputs(lang)
            table_value, choices = documents_outputs(lang)
            samples = ui.examples()
            return [s, s, s["top_k"], s["mode"], s["llm"] if ui.allow_custom_endpoint else config.llm,
                    s["llm_model"], lang, status, show_rebuild, table_value, choices,
                    gr.Dataset(samples=samples or [[""]], visible=bool(samples)),
                    render.render_sources_panel([], lang), *relabel(lang)]

        demo.load(on_load, inputs=[settings_store, browser_lang],
                  outputs=[settings_store, session_settings, top_k, mode, llm, llm_model, lang_radio, status_html, rebuild_top,
                           table, delete_choice, examples, sources, *relabel_targets],
                  js=LOAD_JS, api_visibility="private", show_progress="hidden")

        def save_settings(k, m, endpoint, model, lang):
            # Made from the controls' current values alone (not the previous
            # state), so quick successive edits cannot undo one another.
            s = ui.settings({"top_k": k, "mode": m, "llm": endpoint if ui.allow_custom_endpoint else "",
                             "llm_model": model, "lang": lang})
            return s, s

        settings_inputs = [top_k, mode, llm, llm_model, lang_radio]
        # "always_last": typing fires many events; the last value must be the one kept
        settings_kwargs = dict(api_visibility="private", show_progress="hidden", concurrency_limit=1,
                               concurrency_id="settings", trigger_mode="always_last")
        gr.on([top_k.input, top_k.release, mode.input, llm.input, llm.blur, llm.submit, llm_model.input,
               llm_model.blur, llm_model.submit], save_settings, settings_inputs, [settings_store, session_settings],
              **settings_kwargs)

        def change_language(k, m, endpoint, model, lang):
            s, _ = save_settings(k, m, endpoint, model, lang)
            status, show_rebuild = status_outputs(lang)
            table_value, _ = documents_outputs(lang)
            return [s, s, status, show_rebuild, table_value, *relabel(lang)]

        lang_radio.input(change_language, settings_inputs,
                         [settings_store, session_settings, status_html, rebuild_top, table, *relabel_targets],
                         **settings_kwargs)

        # chat

        def respond(text, messages, settings, turns, panel):
            s = ui.settings(settings)
            lang = s["lang"]
            messages = list(messages or [])
            turns = list(turns or [])
            panel = list(panel or [])
            try:
                engine.clean_question(text)
            except QuestionError:
                notice_html = f'<div class="notice">⚠ {render.esc(t("empty_question", lang))}</div>'
                yield messages, gr.skip(), notice_html, text, turns, panel, gr.skip(), gr.skip()
                return
            # Numbered after the last answered turn (the chat shown may be
            # shorter: an API client need not send it back).
            turn = max([row[0] for row in panel] + [sum(1 for m in messages if m.get("role") == "user")]) + 1
            messages.append({"role": "user", "content": render.render_question(text)})
            messages.append({"role": "assistant",
                             "content": f'<div class="answer streaming">{render.esc(t("thinking", lang))}</div>'})
            yield messages, gr.skip(), "", "", turns, panel, gr.skip(), gr.skip()
            final = None
            try:
                changes, session_notes = overrides_for(s, config, ui.allow_custom_endpoint)
                view = engine_for(engine, changes)
                for update in view.ask_stream(text, turns):
                    if update.answer is None:
                        messages[-1] = {"role": "assistant", "content": render.render_answer(update.text, None,
                                                                                            turn, lang)}
                        yield messages, gr.skip(), gr.skip(), gr.skip(), turns, panel, gr.skip(), gr.skip()
                    else:
                        final = update.answer
            except IndexProblem as exc:
                messages[-1] = {"role": "assistant",
                                "content": render.render_error(t("index_problem", lang, error=str(exc)))}
                yield messages, gr.skip(), gr.skip(), gr.skip(), turns, panel, gr.skip(), gr.skip()
                return
            except (QuestionError, ValueError, RuntimeError, OSError) as exc:
                log.exception("answering failed")
                messages[-1] = {"role": "assistant", "content": render.render_error(t("error", lang, error=str(exc)))}
                yield messages, gr.skip(), gr.skip(), gr.skip(), turns, panel, gr.skip(), gr.skip()
                return
            if final is None:
                return
            final.notes = list(final.notes) + session_notes
            messages[-1] = {"role": "assistant", "content": render.render_answer(final.answer, final, turn, lang)}
            ctx = ui.source_context(view)
            panel.append((turn, text.strip(), render.render_turn_sources(final, turn, ctx, lang)))
            turns.append(Turn(text.strip(), final))
            export = write_export(turns, lang)
            yield (messages, render.render_sources_panel(panel, lang), "", gr.skip(), turns, panel,
                   render.answer_markdown(final, lang), gr.update(value=export, interactive=True))

        def write_export(turns, lang: str) -> str:
            EXPORT_DIR.mkdir(parents=True, exist_ok=True)
            stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
            folder = Path(tempfile.mkdtemp(dir=EXPORT_DIR))
            path = folder / f"conversation-{stamp}.md"
            path.write_text(render.conversation_markdown([(tu.question, tu.answer) for tu in turns], lang,
                                                         when=datetime.now().strftime("%Y-%m-%d %H:%M")),
                            encoding="utf-8")
            return str(path)

        chat_outputs = [chatbot, sources, notice, question, turns_state, panel_state, answer_md, export_btn]
        gr.on([question.submit, ask_btn.click], respond,
              inputs=[question, chatbot, session_settings, turns_state, panel_state], outputs=chat_outputs,
              api_name="ask", concurrency_limit=4, concurrency_id="answer", show_progress="minimal")

        def pick_example(sample):
            return sample[0] if isinstance(sample, (list, tuple)) else sample

        examples.click(pick_example, examples, question, api_visibility="private", show_progress="hidden").then(
            respond, inputs=[question, chatbot, session_settings, turns_state, panel_state], outputs=chat_outputs,
            api_visibility="private", concurrency_limit=4, concurrency_id="answer", show_progress="minimal")

        def clear(settings):
            lang = ui.settings(settings)["lang"]
            return [], render.render_sources_panel([], lang), "", [], [], "", gr.update(value=None, interactive=False)

        clear_outputs = [chatbot, sources, notice, turns_state, panel_state, answer_md, export_btn]
        clear_btn.click(clear, session_settings, clear_outputs, api_visibility="private", show_progress="hidden")
        chatbot.clear(clear, session_settings, clear_outputs, api_visibility="private", show_progress="hidden")

        def copied(md, settings):
            lang = ui.settings(settings)["lang"]
            if md:
                gr.Info(t("copied", lang))
            else:
                gr.Warning(t("nothing_to_copy", lang))

        copy_btn.click(copied, [answer_md, session_settings], None, js=COPY_JS, api_visibility="private",
                       show_progress="hidden")

        # documents and rebuild

        def refresh(settings):
            lang = ui.settings(settings)["lang"]
            status, show_rebuild = status_outputs(lang)
            table_value, choices = documents_outputs(lang)
            return status, show_rebuild, table_value, choices

        docs_tab.select(refresh, session_settings, [status_html, rebuild_top, table, delete_choice],
                        api_visibility="private", show_progress="hidden")

        def run_build(full: bool, settings, progress):
            lang = ui.settings(settings)["lang"]
            tracker = ProgressTracker(lang=lang)
            progress(0, desc=t("status_building", lang))

            def on_progress(p):
                fraction, label = tracker.step(p)
                progress(fraction, desc=label)

            try:
                report = engine.rebuild(full=full, progress=on_progress)
            except (BuildError, IndexProblem, RuntimeError, ValueError, OSError) as exc:
                log.warning("rebuild failed: %s", exc)
                message = (f'<div class="build-msg bad">✗ {render.esc(t("build_failed", lang, error=str(exc)))}'
                           "</div>")
            else:
                text = t("build_done", lang, documents=report.documents, chunks=report.chunks,
                         embedded=len(report.embedded_documents), reused=len(report.reused_documents),
                         seconds=report.seconds)
                if report.failed:
                    text += " " + t("build_skipped", lang, n=len(report.failed),
                                    reasons="; ".join(f"{f.path}: {f.reason}" for f in report.failed))
                message = f'<div class="build-msg ok">✓ {render.esc(text)}</div>'
            status, show_rebuild = status_outputs(lang)
            table_value, choices = documents_outputs(lang)
            samples = ui.examples()
            return (message, status, show_rebuild, table_value, choices,
                    gr.Dataset(samples=samples or [[""]], visible=bool(samples)))

        build_outputs = [build_msg, status_html, rebuild_top, table, delete_choice, examples]

        def rebuild(settings, progress=gr.Progress()):
            return run_build(False, settings, progress)

        def full_rebuild(settings, progress=gr.Progress()):
            return run_build(True, settings, progress)

        def rebuild_if_changed(changed, settings, progress=gr.Progress()):
            if not changed:
                return tuple(gr.skip() for _ in build_outputs)
            return run_build(False, settings, progress)

        build_kwargs = dict(concurrency_limit=1, concurrency_id="build", show_progress="full",
                            show_progress_on=[build_msg, status_html])
        rebuild_btn.click(rebuild, session_settings, build_outputs, api_name="rebuild", **build_kwargs)
        rebuild_top.click(rebuild, session_settings, build_outputs, api_visibility="private", **build_kwargs)
        full_btn.click(full_rebuild, session_settings, build_outputs, api_name="full_rebuild", **build_kwargs)

        def add_files(paths, settings):
            lang = ui.settings(settings)["lang"]
            added, problems = [], []
            for p in paths or []:
                path = Path(p)
                try:
                    added.append(engine.add_file(path, path.name))
                except (ValueError, OSError) as exc:
                    problems.append(str(exc))
            lines = []
            if added:
                lines.append(f'<div class="build-msg ok">✓ {render.esc(t("uploaded", lang, names=", ".join(added)))}'
                             "</div>")
            for problem in problems:
                lines.append(f'<div class="build-msg bad">✗ {render.esc(t("upload_failed", lang, reason=problem))}'
                             "</div>")
            return "".join(lines), None, bool(added)

        files.upload(add_files, [files, session_settings], [build_msg, files, added_state], api_name="upload",
                     show_progress="minimal").then(rebuild_if_changed, [added_state, session_settings], build_outputs,
                                                   api_visibility="private", **build_kwargs)

        def delete(rel, settings):
            lang = ui.settings(settings)["lang"]
            if not rel:
                return f'<div class="build-msg bad">{render.esc(t("delete_none", lang))}</div>', False
            try:
                engine.delete_document(rel)
            except (ValueError, OSError) as exc:
                return f'<div class="build-msg bad">✗ {render.esc(str(exc))}</div>', False
            return f'<div class="build-msg ok">✓ {render.esc(t("deleted", lang, name=rel))}</div>', True

        delete_btn.click(delete, [delete_choice, session_settings], [build_msg, added_state], api_name="delete",
                         show_progress="minimal").then(rebuild_if_changed, [added_state, session_settings],
                                                       build_outputs, api_visibility="private", **build_kwargs)

        def index_status() -> dict:
            """The index status as JSON (what `python -m rag status --json` prints)."""
            return _status_json(engine)

        gr.api(index_status, api_name="status")

    return demo


def _status_json(engine) -> dict:
    from dataclasses import asdict

    return asdict(engine.status())


def theme():
    import gradio as gr

    sans = ["system-ui", "-apple-system", "Segoe UI", "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei",
            "Noto Sans CJK SC", "WenQuanYi Micro Hei", "sans-serif"]
    mono = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"]
    return gr.themes.Default(primary_hue="blue", font=sans, font_mono=mono)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python app.py", description=__doc__.split("\n")[0])
    Config.add_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        config = Config.from_args(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    problem = exposure_problem(config.host, config.auth)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2

    from rag.engine import Engine

    engine = Engine(config)
    status = engine.status()          # loads the index and the embedder once, up front
    if status.ready:
        log.info("serving %d documents, %d chunks from %s", status.documents, status.chunks, config.index_dir)
    else:
        log.warning("no usable index yet: %s", status.message)
    demo = build_app(engine)
    auth = tuple(config.auth.split(":", 1)) if config.auth else None
    demo.queue(default_concurrency_limit=8).launch(
        server_name=config.host, server_port=config.port, auth=auth, ssr_mode=False, show_error=True,
        max_file_size=f"{config.upload_max_mb}mb", head=CITE_SCRIPT, css=CSS, theme=theme(), quiet=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
