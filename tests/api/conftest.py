"""The one server of the API tests: ``app.build_server`` (the HTTP API with
the UI mounted, as ``python app.py`` serves it) run by uvicorn in a thread
of the test process, on a free loopback port, over a copy of the session's
essay index (tests/conftest.py's ``essay_config``), with an API key.

Started once per test session and shared by every module of tests/api;
tests that change the corpus use names of their own."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

API_KEY = "test-key-5c1f"


@dataclass
class Server:
    url: str
    config: object
    engine: object
    corpus: Path
    api_key: str = API_KEY

    def client(self, key: str | None = API_KEY, **kwargs) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=120, **kwargs)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def server(essay_config, tmp_path_factory) -> Server:
    import uvicorn

    from app import build_server
    from rag.engine import Engine

    dest = tmp_path_factory.mktemp("api-server")
    corpus, index = dest / "corpus", dest / "index"
    shutil.copytree(essay_config.corpus_dir, corpus)
    shutil.copytree(essay_config.index_dir, index, ignore=shutil.ignore_patterns(".build.lock", ".staging"))
    port = free_port()
    config = essay_config.replace(corpus_dir=corpus, index_dir=index, port=port, api_key=API_KEY,
                                  upload_max_mb=1, api_max_body_kb=64)
    engine = Engine(config)
    engine.status()                                   # the index and the embedder, loaded once
    uv = uvicorn.Server(uvicorn.Config(build_server(engine), host="127.0.0.1", port=port, log_level="warning",
                                           timeout_graceful_shutdown=2))
    thread = threading.Thread(target=uv.run, name="api-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not uv.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the API test server did not start")
        time.sleep(0.05)
    yield Server(f"http://127.0.0.1:{port}", config, engine, corpus)
    uv.should_exit = True
    thread.join(timeout=15)


@pytest.fixture(scope="session")
def api(server) -> httpx.Client:
    with server.client() as client:
        yield client
