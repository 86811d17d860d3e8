"""The HTTP API, served with the UI in one process on one port (``app.py``).

A thin shell over :class:`rag.engine.Engine`, as ``ui/`` and the CLI are:
it has no retrieval or answering of its own, and its hits and answers are
the JSON objects ``python -m rag … --json`` prints.

* :mod:`api.native`: ``/api/search``, ``/api/ask`` (JSON, or server-sent
  events), ``/api/documents``, ``/api/rebuild`` + ``/api/jobs/{id}``,
  ``/api/status``;
* :mod:`api.openai_compat`: ``/v1/chat/completions`` and ``/v1/models``, so
  that an OpenAI client or chat front end can use the documents as a model;
* :mod:`api.guard`: the API key, the request size limits and the checks
  against cross-site and DNS-rebinding requests, before any route runs;
* :mod:`api.jobs`: rebuilds run one at a time, with their progress;
* :mod:`api.server`: the FastAPI app (OpenAPI page at ``/docs``) and its server.
"""
