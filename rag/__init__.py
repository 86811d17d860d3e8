"""Retrieval and answering over an index built by ``ingest``.

The public entry point is :class:`rag.engine.Engine`; ``python -m rag`` and
``app.py`` are thin shells over it.
"""
