"""Optional LLM generators: two ways to stream a reply to chat messages — a
local transformers model, or an OpenAI-compatible server (Ollama, vLLM,
llama.cpp server, ...). What the messages say is the answer step's business
(:mod:`rag.answer.prompt`).

The reply is never trusted: :mod:`rag.answer.verify` checks every statement against
the passage it cites, whatever produced it.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Protocol

from rag.config import Config

log = logging.getLogger(__name__)


class GenerationError(RuntimeError):
    """The model cannot be loaded or reached; the message says what to do."""


@dataclass(frozen=True)
class ChatMessage:
    """One message of a chat: ``role`` is "system", "user" or "assistant"."""

    role: str
    content: str

    def to_json(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


class Generator(Protocol):
    """Anything that turns chat messages into a stream of text pieces."""

    def stream(self, messages: list[ChatMessage]) -> Iterator[str]:
        ...


# --- a local transformers model --------------------------------------------

class TransformersGenerator:
    """A local causal LM on CPU: a transformers folder, or a ``.gguf`` file
    (transformers dequantizes it; needs the ``gguf`` package)."""

    def __init__(self, path: str | Path, max_new_tokens: int = 384, *, gguf_file: str | None = None) -> None:
        path = Path(path).expanduser()
        if gguf_file is None and path.suffix.lower() == ".gguf":
            path, gguf_file = path.parent, path.name
        if not path.exists():
            raise GenerationError(f"LLM path {path} does not exist: set --llm to a model folder, "
                                  "a .gguf file, or an http(s) URL of an OpenAI-compatible server")
        self.path = path
        self.gguf_file = gguf_file
        self.max_new_tokens = max_new_tokens
        self._lock = threading.Lock()   # one generation at a time: the model is shared
        try:
            from transformers import AutoModelForCausalLM, AutoTokenizer

            extra = {"gguf_file": gguf_file} if gguf_file else {}
            self.tokenizer = AutoTokenizer.from_pretrained(str(path), **extra)
            self.model = AutoModelForCausalLM.from_pretrained(str(path), **extra)   # CPU: the default device
        except Exception as exc:   # many kinds (missing files, bad config, no gguf package)
            raise GenerationError(f"cannot load the LLM from {path}{'/' + gguf_file if gguf_file else ''}: {exc}") from exc
        self.model.eval()
        if not getattr(self.tokenizer, "chat_template", None):
            raise GenerationError(f"the tokenizer in {path} has no chat template: use an instruction-tuned model")

    def encode(self, messages: list[ChatMessage]):
        """The model inputs for ``messages`` through the chat template.
        Special tokens typed inside a message (e.g. "<|im_start|>system" in a
        passage) stay plain text: only the template itself may open a turn."""
        return self.tokenizer.apply_chat_template(
            [m.to_json() for m in messages], add_generation_prompt=True, tokenize=True,
            sanitize_control_tokens=True, return_dict=True, return_tensors="pt")

    def stream(self, messages: list[ChatMessage]) -> Iterator[str]:
        """Yield decoded text pieces as the model writes them. Closing the
        iterator early (the user stopped reading) stops the generation."""
        from transformers import StoppingCriteriaList, TextIteratorStreamer

        inputs = self.encode(messages)
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        stop = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            try:
                self.model.generate(**inputs, streamer=streamer, max_new_tokens=self.max_new_tokens,
                                    do_sample=False, stopping_criteria=StoppingCriteriaList([_StopWhen(stop)]))
            except BaseException as exc:   # re-raised in the caller's thread
                failure.append(exc)
                streamer.end()

        with self._lock:
            worker = threading.Thread(target=run, name="llm-generate", daemon=True)
            worker.start()
            try:
                for piece in streamer:
                    if piece:
                        yield piece
            finally:
                stop.set()
                worker.join()
        if failure:
            raise GenerationError(f"the LLM failed while generating: {failure[0]}") from failure[0]


class _StopWhen:
    """A stopping criterion that ends generation once ``event`` is set."""

    def __init__(self, event: threading.Event) -> None:
        self.event = event

    def __call__(self, input_ids, scores, **kwargs):
        import torch

        return torch.full((input_ids.shape[0],), self.event.is_set(), dtype=torch.bool, device=input_ids.device)


# --- an OpenAI-compatible server -------------------------------------------

class OpenAIGenerator:
    """Streams from ``{base}/v1/chat/completions`` (server-sent events)."""

    def __init__(self, base_url: str, model: str, api_key: str | None = None, *,
                 max_tokens: int | None = None, timeout: float = 120.0) -> None:
        base = base_url.rstrip("/")
        if base.endswith("/chat/completions"):
            base = base[: -len("/chat/completions")]
        if not base.endswith("/v1"):
            base += "/v1"
        self.url = base + "/chat/completions"
        self.model = model
        self.api_key = api_key
        self.max_tokens = max_tokens
        self.timeout = timeout

    def stream(self, messages: list[ChatMessage]) -> Iterator[str]:
        body: dict = {"model": self.model, "messages": [m.to_json() for m in messages], "stream": True}
        if self.max_tokens:
            body["max_tokens"] = self.max_tokens
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(self.url, data=json.dumps(body).encode("utf-8"), headers=headers,
                                         method="POST")
        try:
            response = urllib.request.urlopen(request, timeout=self.timeout)
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:500]
            raise GenerationError(f"the LLM server at {self.url} answered HTTP {exc.code} {exc.reason}: "
                                  f"{detail or '(no body)'}") from exc
        except urllib.error.URLError as exc:
            raise GenerationError(f"cannot reach the LLM server at {self.url}: {exc.reason}; "
                                  "is it running, and is --llm the right URL?") from exc
        except (TimeoutError, OSError) as exc:
            raise GenerationError(f"cannot reach the LLM server at {self.url}: {exc}") from exc
        with response:
            yield from _parse_sse(response, self.url)


def _parse_sse(lines: Iterator[bytes], url: str) -> Iterator[str]:
    """Text deltas of an OpenAI streaming response. Lines other than
    ``data:`` (comments, ``event:``, blanks) are ignored; ``[DONE]`` ends it."""
    for raw in lines:
        line = raw.decode("utf-8", "replace").strip()
        if not line.startswith("data:"):
            continue
        data = line[len("data:"):].strip()
        if data == "[DONE]":
            return
        try:
            event = json.loads(data)
        except json.JSONDecodeError:
            log.warning("ignoring a malformed event from %s: %.200s", url, data)
            continue
        if isinstance(event, dict) and event.get("error"):
            error = event["error"]
            message = error.get("message", error) if isinstance(error, dict) else error
            raise GenerationError(f"the LLM server at {url} reported an error: {message}")
        for choice in event.get("choices") or []:
            piece = (choice.get("delta") or {}).get("content")
            if piece:
                yield piece


# --- choosing ---------------------------------------------------------------

def make_generator(config: Config) -> Generator | None:
    """The generator that ``config.llm`` names: None for "" (extractive
    answers), an :class:`OpenAIGenerator` for an http(s) URL, otherwise a
    :class:`TransformersGenerator` for a local folder or ``.gguf`` file.
    Local models are loaded once per process."""
    target = config.llm.strip()
    if not target:
        return None
    if target.lower().startswith(("http://", "https://")):
        return OpenAIGenerator(target, config.llm_model, api_key=config.llm_api_key or None,
                               max_tokens=config.llm_max_new_tokens)
    key = (target, config.llm_max_new_tokens)
    with _LOCAL_LOCK:
        if key not in _LOCAL:
            _LOCAL[key] = TransformersGenerator(target, config.llm_max_new_tokens)
        return _LOCAL[key]


_LOCAL: dict[tuple[str, int], TransformersGenerator] = {}
_LOCAL_LOCK = threading.Lock()
