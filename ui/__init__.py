"""The web UI's pure helpers: strings (:mod:`ui.i18n`), HTML and Markdown
rendering of answers and sources (:mod:`ui.render`), example questions
derived from the index (:mod:`ui.examples`) and per-session settings
(:mod:`ui.session`). ``app.py`` wires them to Gradio; nothing here imports
Gradio, so all of it is unit-testable.
"""
