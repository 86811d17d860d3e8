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

The HTTP API (:mod:`api`: ``/api``, OpenAI-compatible ``/v1``, docs at
``/docs``) is served by the same process on the same port.

Binds 127.0.0.1 by default; any other address requires ``--auth`` and ``--api-key``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

sys.path.insert(0, str(Path(__file__).resolve().parent))

from rag.config import Config  # noqa: E402
from api.guard import exposure_problem as api_exposure_problem  # noqa: E402
from ui.exposure import exposure_problem  # noqa: E402

log = logging.getLogger("app")

ASSETS = Path(__file__).resolve().parent / "ui" / "assets"

# The browser side of two events: copy the answer's Markdown before the
# handler confirms it; send the browser's language with the saved settings.
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


def build_app(engine):
    """The gr.Blocks of the app for ``engine``: the layout, and each event
    wired to a handler of :mod:`ui.chat`, :mod:`ui.documents` or
    :mod:`ui.settings` through :func:`ui.outputs.handler`."""
    import gradio as gr

    from ui.chat import Chat
    from ui.documents import Documents
    from ui.i18n import Labels, t
    from ui.outputs import Outputs, handler, samples_of
    from ui.page import Page
    from ui.render import DOCUMENT_COLUMNS, render_header, render_sources_panel
    from ui.session import default_settings
    from ui.settings import Settings, mode_choices

    page = Page(engine)
    config = page.config
    labels = Labels()
    chat, documents, settings = Chat(page), Documents(page), Settings(page, labels)
    lang = "zh"          # until the browser's settings are restored (Settings.restore)
    label = labels.add   # label(component, property, string key or fn(lang)): follows the language

    with gr.Blocks(title="文档问答 · Document Q&A", analytics_enabled=False, delete_cache=(3600, 7200)) as demo:
        settings_store = gr.BrowserState(default_settings(config), storage_key="rag-ui-settings",
                                         secret="rag-ui-settings-v1")
        session_settings = gr.State(default_settings(config))   # the live copy the handlers read
        browser_lang = gr.Textbox(visible=False)
        turns_state = gr.State([])           # [Turn] for follow-ups and export
        panel_state = gr.State([])           # [(turn, question, sources html)]
        changed_state = gr.State(False)      # did an upload/delete change the corpus?

        label(gr.HTML(render_header(lang)), "value", render_header)
        with gr.Row(elem_id="status-row"):
            status_html = gr.HTML(elem_id="index-status", scale=8, label="index_status")
            rebuild_top = label(gr.Button(t("rebuild_now", lang), size="sm", variant="primary", visible=False,
                                          scale=1, min_width=120, elem_id="rebuild-top"), "value", "rebuild_now")

        with gr.Tabs():
            with label(gr.Tab(t("tab_chat", lang), id="chat", elem_id="tab-chat"), "label", "tab_chat"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3, min_width=380):
                        chatbot = gr.Chatbot(label=t("chatbot", lang), elem_id="chatbot", height=430,
                                             render_markdown=False, sanitize_html=True, latex_delimiters=[],
                                             buttons=[], feedback_options=None,
                                             placeholder=t("chat_placeholder", lang))
                        label(label(chatbot, "label", "chatbot"), "placeholder", "chat_placeholder")
                        with gr.Row(elem_id="chat-actions"):
                            clear_btn = label(gr.Button(t("clear", lang), size="sm", elem_id="clear"),
                                              "value", "clear")
                            copy_btn = label(gr.Button(t("copy_answer", lang), size="sm", elem_id="copy"),
                                             "value", "copy_answer")
                            export_btn = label(gr.DownloadButton(t("export", lang), size="sm", interactive=False,
                                                                 elem_id="export"), "label", "export")
                        with gr.Row(equal_height=True):
                            question = gr.Textbox(label=t("question", lang), lines=1, max_lines=4,
                                                  placeholder=t("question_placeholder", lang),
                                                  scale=6, elem_id="question", autofocus=True)
                            label(label(question, "label", "question"), "placeholder", "question_placeholder")
                            ask_btn = label(gr.Button(t("ask", lang), variant="primary", scale=1, min_width=90,
                                                      elem_id="ask"), "value", "ask")
                        notice = gr.HTML(elem_id="notice", label="notice")
                        examples = label(gr.Dataset(components=[question], samples=samples_of(page.examples().rows),
                                                    label=t("examples", lang), elem_id="examples",
                                                    samples_per_page=6), "label", "examples")
                        answer_md = gr.Textbox(visible=False, elem_id="answer-md", label="answer_markdown")
                    with gr.Column(scale=2, min_width=320):
                        sources = gr.HTML(render_sources_panel([], lang), elem_id="sources-panel",
                                          label=t("sources", lang), max_height=680)

            with label(gr.Tab(t("tab_documents", lang), id="documents", elem_id="tab-documents"),
                       "label", "tab_documents") as docs_tab:
                table = label(gr.Dataframe(headers=[t(k, lang) for k in DOCUMENT_COLUMNS],
                                           datatype=["str"] * len(DOCUMENT_COLUMNS), interactive=False, wrap=True,
                                           elem_id="documents", label=t("documents_table", lang)),
                              "label", "documents_table")
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3):
                        files = label(gr.File(label=t("upload", lang), file_count="multiple",
                                              file_types=engine.upload_suffixes, type="filepath",
                                              elem_id="upload", height=140), "label", "upload")
                        label(gr.Markdown(t("upload_limit", lang, mb=config.upload_max_mb)),
                              "value", lambda lang: t("upload_limit", lang, mb=config.upload_max_mb))
                    with gr.Column(scale=2):
                        # Choices are filled when the page opens; an API client that never
                        # opened it sends a name, which the handler checks against the corpus.
                        delete_choice = label(gr.Dropdown(label=t("delete_choice", lang), choices=[],
                                                          elem_id="delete-choice", allow_custom_value=True),
                                              "label", "delete_choice")
                        delete_btn = label(gr.Button(t("delete", lang), variant="stop", size="sm",
                                                     elem_id="delete"), "value", "delete")
                        with gr.Row():
                            rebuild_btn = label(gr.Button(t("rebuild", lang), variant="primary", size="sm",
                                                          elem_id="rebuild"), "value", "rebuild")
                            full_btn = label(gr.Button(t("full_rebuild", lang), size="sm", elem_id="full-rebuild"),
                                             "value", "full_rebuild")
                build_msg = gr.HTML(elem_id="build-msg", label="build_message")

            with label(gr.Tab(t("tab_settings", lang), id="settings", elem_id="tab-settings"),
                       "label", "tab_settings"):
                defaults = default_settings(config)
                top_k = label(gr.Slider(1, 20, value=defaults["top_k"], step=1, label=t("top_k", lang),
                                        elem_id="top-k"), "label", "top_k")
                mode = gr.Radio(mode_choices(lang), value=defaults["mode"], label=t("mode", lang), elem_id="mode")
                label(label(mode, "label", "mode"), "choices", mode_choices)
                endpoint_key = "llm_endpoint" if page.allow_custom_endpoint else "llm_endpoint_locked"
                llm = label(gr.Textbox(label=t(endpoint_key, lang),
                                       value="" if page.allow_custom_endpoint else config.llm,
                                       placeholder=config.llm or "http://127.0.0.1:8080/v1",
                                       interactive=page.allow_custom_endpoint, elem_id="llm-endpoint"),
                            "label", endpoint_key)
                llm_model = label(gr.Textbox(label=t("llm_model", lang), value=defaults["llm_model"],
                                             elem_id="llm-model"), "label", "llm_model")
                language = label(gr.Radio([("中文", "zh"), ("English", "en")], value=lang,
                                          label=t("language", lang), elem_id="language"), "label", "language")
                label(gr.Markdown(t("settings_note", lang)), "value", "settings_note")

        # --- wiring: each event's inputs, its handler, and the components it writes ---

        private = dict(api_visibility="private", show_progress="hidden")
        index_views = dict(status=status_html, rebuild_top=rebuild_top, table=table)

        restored = Outputs(settings_store=settings_store, session_settings=session_settings, top_k=top_k, mode=mode,
                           llm=llm, llm_model=llm_model, language=language, **index_views,
                           delete_choice=delete_choice, examples=examples, sources=sources, labels=labels.components)
        demo.load(handler(settings.restore, restored), [settings_store, browser_lang], restored.components,
                  js=LOAD_JS, **private)

        saved = Outputs(settings_store=settings_store, session_settings=session_settings)
        relabelled = Outputs(**saved.slots, **index_views, labels=labels.components)
        settings_inputs = [top_k, mode, llm, llm_model, language]
        # "always_last": typing fires many events; the last value must be the one kept
        settings_events = dict(private, concurrency_limit=1, concurrency_id="settings", trigger_mode="always_last")
        gr.on([top_k.input, top_k.release, mode.input, llm.input, llm.blur, llm.submit, llm_model.input,
               llm_model.blur, llm_model.submit], handler(settings.save, saved), settings_inputs, saved.components,
              **settings_events)
        language.input(handler(settings.change_language, relabelled), settings_inputs, relabelled.components,
                       **settings_events)

        answered = Outputs(chatbot=chatbot, sources=sources, notice=notice, question=question, turns=turns_state,
                           panel=panel_state, answer_md=answer_md, export=export_btn)
        ask = handler(chat.ask, answered)
        ask_inputs = [question, chatbot, session_settings, turns_state, panel_state]
        answering = dict(concurrency_limit=4, concurrency_id="answer", show_progress="minimal")
        gr.on([question.submit, ask_btn.click], ask, ask_inputs, answered.components, api_name="ask", **answering)
        picked = Outputs(question=question)
        examples.click(handler(chat.pick_example, picked), examples, picked.components, **private).then(
            ask, ask_inputs, answered.components, api_visibility="private", **answering)
        cleared = Outputs(chatbot=chatbot, sources=sources, notice=notice, turns=turns_state, panel=panel_state,
                          answer_md=answer_md, export=export_btn)
        for event in (clear_btn.click, chatbot.clear):
            event(handler(chat.clear, cleared), session_settings, cleared.components, **private)
        copy_btn.click(handler(chat.copied), [answer_md, session_settings], None, js=COPY_JS, **private)

        refreshed = Outputs(**index_views, delete_choice=delete_choice)
        docs_tab.select(handler(documents.refresh, refreshed), session_settings, refreshed.components, **private)
        built = Outputs(build_msg=build_msg, **refreshed.slots, examples=examples)
        building = dict(concurrency_limit=1, concurrency_id="build", show_progress="full",
                        show_progress_on=[build_msg, status_html])
        rebuild = handler(documents.rebuild, built)
        rebuild_btn.click(rebuild, session_settings, built.components, api_name="rebuild", **building)
        rebuild_top.click(rebuild, session_settings, built.components, api_visibility="private", **building)
        full_btn.click(handler(documents.full_rebuild, built), session_settings, built.components,
                       api_name="full_rebuild", **building)
        rebuild_if_changed = handler(documents.rebuild_if_changed, built)
        uploaded = Outputs(build_msg=build_msg, files=files, changed=changed_state)
        files.upload(handler(documents.upload, uploaded), [files, session_settings], uploaded.components,
                     api_name="upload", show_progress="minimal").then(
            rebuild_if_changed, [changed_state, session_settings], built.components, api_visibility="private",
            **building)
        deleted = Outputs(build_msg=build_msg, changed=changed_state)
        delete_btn.click(handler(documents.delete, deleted), [delete_choice, session_settings], deleted.components,
                         api_name="delete", show_progress="minimal").then(
            rebuild_if_changed, [changed_state, session_settings], built.components, api_visibility="private",
            **building)
        gr.api(documents.index_status, api_name="status")

    return demo


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
    problem = exposure_problem(config.host, config.auth) or api_exposure_problem(config)
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
    if config.llm:
        # A local LLM loads, and evaluates its fixed rules, while the server starts rather than
        # during the first question (24-30 s on 2 shared cores); a question asked meanwhile waits.
        threading.Thread(target=_load_llm, args=(engine,), name="llm-load", daemon=True).start()
    from api.server import serve

    return serve(build_server(engine), config)


def _load_llm(engine) -> None:
    from rag.engine import GenerationError

    try:
        engine.generator()
    except GenerationError as exc:   # the first question reports it to the user as well
        log.error("%s", exc)


def build_server(engine):
    """The one web app: the HTTP API (``/api``, ``/v1``, ``/docs``; see
    :mod:`api`) with the UI of :func:`build_app` mounted at ``/``."""
    import gradio as gr

    from api.server import create_app

    config = engine.config
    server = create_app(engine)
    auth = tuple(config.auth.split(":", 1)) if config.auth else None
    gr.mount_gradio_app(
        server, build_app(engine).queue(default_concurrency_limit=8), path="/", auth=auth, ssr_mode=False,
        show_error=True, max_file_size=f"{config.upload_max_mb}mb", theme=theme(),
        head=f"<script>\n{(ASSETS / 'cite.js').read_text('utf-8')}</script>",
        css=(ASSETS / "app.css").read_text("utf-8"))
    return server


if __name__ == "__main__":
    sys.exit(main())
