"""Retrieval and answering over the chunks that ``ingest`` makes.

The data flow, one subpackage a step: ``models`` (texts to vectors),
``index`` (chunks and vectors to a stored index), ``retrieve`` (a question to
hits), ``answer`` (hits to a cited answer). :class:`rag.engine.Engine` is the
one public API; ``python -m rag``, ``python -m ingest`` and ``app.py`` are
thin shells over it.
"""
