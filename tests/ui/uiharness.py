"""Helpers of the UI tests: start and stop the real app as a subprocess on a
free loopback port, copy the session's index of the essay."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
START_TIMEOUT = 240          # seconds: imports and the embedder, on a slow CI machine
SCREENSHOTS = PROJECT_ROOT / "artifacts" / "screenshots"


def child_env() -> dict[str, str]:
    """The environment of the app subprocesses: the developer's
    RAG_* settings are left out so the tests see the defaults."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(GRADIO_ANALYTICS_ENABLED="False", PYTHONUNBUFFERED="1", TOKENIZERS_PARALLELISM="false")
    return env


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class RunningApp:
    url: str
    port: int
    corpus: Path
    index: Path
    process: subprocess.Popen
    log: Path

    def log_text(self) -> str:
        return self.log.read_text("utf-8", errors="replace") if self.log.exists() else ""


def start_app(corpus: Path, index: Path, log: Path, *extra: str) -> RunningApp:
    """``python app.py`` on a free loopback port; returns once it answers HTTP."""
    port = free_port()
    handle = log.open("w", encoding="utf-8")
    process = subprocess.Popen([PYTHON, str(PROJECT_ROOT / "app.py"), "--port", str(port), "--corpus", str(corpus),
                                "--index", str(index), *extra],
                               cwd=PROJECT_ROOT, env=child_env(), stdout=handle, stderr=subprocess.STDOUT)
    handle.close()
    app = RunningApp(f"http://127.0.0.1:{port}/", port, corpus, index, process, log)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"app exited with {process.returncode}:\n{app.log_text()[-4000:]}")
        try:
            with urllib.request.urlopen(app.url + "config", timeout=2) as response:
                if response.status == 200:
                    return app
        except OSError:
            time.sleep(0.5)
    stop_app(app)
    raise RuntimeError(f"app did not start within {START_TIMEOUT} s:\n{app.log_text()[-4000:]}")


def stop_app(app: RunningApp) -> None:
    if app.process.poll() is None:
        app.process.terminate()
        try:
            app.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            app.process.kill()
            app.process.wait(timeout=10)


def copy_essay(template: tuple[Path, Path], dest: Path) -> tuple[Path, Path]:
    corpus, index = dest / "corpus", dest / "index"
    shutil.copytree(template[0], corpus)
    shutil.copytree(template[1], index, ignore=shutil.ignore_patterns(".build.lock", ".staging"))
    return corpus, index
