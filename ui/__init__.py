"""The web UI, as plain Python that ``app.py`` lays out and wires to Gradio.

Handlers, one module per tab, each returning a named update (a dataclass
whose fields name the components it changes, see :mod:`ui.updates`):

* :mod:`ui.chat` — ask (streamed), clear, copy, examples;
* :mod:`ui.documents` — list, upload, delete, rebuild with progress;
* :mod:`ui.settings` — restore, save, switch the interface language;
* :mod:`ui.page` — what the tabs share: the engine and the views of its
  index (status line, documents table, example questions, source context).

Pure helpers: strings (:mod:`ui.i18n`), HTML and Markdown of answers and
sources (:mod:`ui.render`), example questions (:mod:`ui.examples`),
per-session settings and build progress (:mod:`ui.session`), who may reach
the app (:mod:`ui.exposure`). The handlers reach the engine through
:class:`rag.engine.Engine`'s public API only.

:mod:`ui.outputs` is the one module that imports Gradio: it turns named
updates into Gradio's outputs. Everything else is testable without a server.
"""
