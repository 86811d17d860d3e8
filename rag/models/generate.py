"""Optional LLM generators: three ways to stream a reply to chat messages — a
GGUF file through llama.cpp (``llama-cpp-python``, installed by ``make llm``),
a local transformers model (the fallback for a GGUF when llama.cpp is not
installed), or an OpenAI-compatible server (Ollama, vLLM, llama.cpp server,
...). What the messages say is the answer step's business
(:mod:`rag.answer.prompt`).

The reply is never trusted: :mod:`rag.answer.verify` checks every statement against
the passage it cites, whatever produced it.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import re
import threading
import time
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
    """Anything that turns chat messages into a stream of text pieces.

    ``compact_prompt`` says whether the prompt should carry only the top
    evidence sentences (a model on this machine's CPU, where every prompt
    token costs time before the first one comes back) rather than whole
    passages (a server)."""

    compact_prompt: bool

    def stream(self, messages: list[ChatMessage]) -> Iterator[str]:
        ...


@dataclass(frozen=True)
class GenerationStats:
    """What one local generation cost: prompt tokens (``reused`` of them
    were already in the model's cache from the previous prompt, so only the
    rest was processed), tokens written, and the seconds to the first
    token and to the end."""

    prompt_tokens: int
    reused_tokens: int
    generated_tokens: int
    first_token_seconds: float
    total_seconds: float

    @property
    def decode_tokens_per_second(self) -> float:
        """Tokens written per second after the first one."""
        after_first = self.total_seconds - self.first_token_seconds
        return (self.generated_tokens - 1) / after_first if self.generated_tokens > 1 and after_first > 0 else 0.0

    @property
    def prompt_tokens_per_second(self) -> float:
        """Prompt tokens processed (not reused) per second until the first token."""
        fresh = self.prompt_tokens - self.reused_tokens
        return fresh / self.first_token_seconds if self.first_token_seconds > 0 else 0.0


# --- a GGUF through llama.cpp -----------------------------------------------

def llama_cpp_available() -> bool:
    """Whether ``llama_cpp`` (``make llm``) is installed, without importing it."""
    return importlib.util.find_spec("llama_cpp") is not None


class LlamaCppGenerator:
    """A GGUF model through llama.cpp on CPU (quantized weights used as
    they are, unlike transformers which dequantizes them to fp32).

    The prompt is the GGUF's own chat template rendered here, so that text
    inside a message is tokenized as plain text: a passage that contains
    ``<|im_start|>system`` cannot open a turn; only the template's own
    markup becomes control tokens. llama.cpp keeps the previous prompt's
    tokens in its cache and processes only what differs, so the fixed
    system rules at the head of every prompt are processed once per process.
    """

    compact_prompt = True

    def __init__(self, path: str | Path, max_new_tokens: int = 384, *, context_tokens: int = 4096,
                 threads: int = 0) -> None:
        path = Path(path).expanduser()
        if not path.is_file():
            raise GenerationError(f"LLM file {path} does not exist: set --llm to a .gguf file "
                                  "(`make llm` assembles models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf)")
        self.path = path
        self.max_new_tokens = max_new_tokens
        self.last_stats: GenerationStats | None = None
        self.prime_seconds: float | None = None   # set by prime()
        self._lock = threading.Lock()   # one generation at a time: the model and its cache are shared
        try:
            from jinja2.sandbox import ImmutableSandboxedEnvironment
            from llama_cpp import Llama

            from rag.models.cpu import read_cpu_info

            # llama.cpp's threads spin-wait for one another at every matrix product, so one
            # thread kept off its core by anything else (the app's own query embedding, other
            # users of a shared machine) stalls them all: one core is left to the rest. On 2
            # shared Zen 3 cores (load 4-9) 1 thread wrote 5.4 tokens/s and 2 threads 2.0.
            threads = threads or max(1, read_cpu_info().usable_cores - 1)
            self.model = Llama(model_path=str(path), n_ctx=context_tokens, n_threads=threads,
                               n_threads_batch=threads, verbose=False)
        except Exception as exc:   # many kinds (not a GGUF, unknown architecture, out of memory)
            raise GenerationError(f"cannot load the LLM from {path} with llama.cpp: {exc}") from exc
        template = self.model.metadata.get("tokenizer.chat_template")
        if not template:
            raise GenerationError(f"{path} carries no chat template: use an instruction-tuned GGUF")
        environment = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
        environment.globals["raise_exception"] = _raise_template_error
        self._template = environment.from_string(template)

    def prime(self, messages: list[ChatMessage]) -> float:
        """Evaluate the prompt of ``messages`` (the fixed head every prompt
        shares: :func:`rag.answer.prompt.fixed_prefix`) into the model's
        cache now, at load, so that the first question reuses it like every
        later one (llama.cpp keeps the longest common prefix of the cached
        and the new prompt; the few template tokens after it are recomputed);
        returns the seconds it took."""
        prompt = self.encode(messages)
        started = time.perf_counter()
        with self._lock:
            self.model.reset()
            self.model.eval(prompt)
        self.prime_seconds = time.perf_counter() - started
        return self.prime_seconds

    def encode(self, messages: list[ChatMessage]) -> list[int]:
        """The prompt's token ids: the chat template's markup tokenized with
        its control tokens, each message's content as plain text."""
        placeholders = [ChatMessage(m.role, f"\x00{i}\x00") for i, m in enumerate(messages)]
        try:
            rendered = self._template.render(messages=[m.to_json() for m in placeholders], add_generation_prompt=True)
        except Exception as exc:   # jinja2's errors, or the template's own raise_exception
            raise GenerationError(f"the chat template of {self.path} failed: {exc}") from exc
        ids: list[int] = []
        for i, piece in enumerate(_PLACEHOLDER.split(rendered)):
            if i % 2:   # a message's content, by its index
                ids += self.model.tokenize(messages[int(piece)].content.encode("utf-8"), add_bos=False, special=False)
            elif piece:
                ids += self.model.tokenize(piece.encode("utf-8"), add_bos=not ids, special=True)
        return ids

    def stream(self, messages: list[ChatMessage]) -> Iterator[str]:
        """Yield text pieces as the model writes them (greedy decoding).
        Closing the iterator early (the user stopped reading) stops the
        generation and frees the model for the next question."""
        prompt = self.encode(messages)
        if len(prompt) + 16 > self.model.n_ctx():
            raise GenerationError(f"the prompt is {len(prompt)} tokens, more than the LLM's context of "
                                  f"{self.model.n_ctx()}: raise --llm-context-tokens or shorten the question")
        with self._lock:
            reused = _common_prefix(self.model.input_ids[: self.model.n_tokens].tolist(), prompt)
            started = time.perf_counter()
            first: float | None = None
            generated = 0
            budget = min(self.max_new_tokens, self.model.n_ctx() - len(prompt))
            completion = self.model.create_completion(prompt, max_tokens=budget, temperature=0.0, stream=True)
            try:
                for chunk in completion:
                    piece = chunk["choices"][0]["text"]
                    generated += 1
                    if first is None:
                        first = time.perf_counter() - started
                    if piece:
                        yield piece
            except GeneratorExit:
                raise
            except Exception as exc:   # llama.cpp's decode failures surface as RuntimeError and kin
                raise GenerationError(f"the LLM failed while generating: {exc}") from exc
            finally:
                completion.close()
                total = time.perf_counter() - started
                self.last_stats = GenerationStats(len(prompt), reused, generated,
                                                  first if first is not None else total, total)


_PLACEHOLDER = re.compile("\x00(\\d+)\x00")


def _raise_template_error(message: str) -> None:
    raise ValueError(message)


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


# --- a local transformers model --------------------------------------------

class TransformersGenerator:
    """A local causal LM on CPU: a transformers folder, or a ``.gguf`` file
    (transformers dequantizes it; needs the ``gguf`` package)."""

    compact_prompt = True

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
            where = f"{path}/{gguf_file}" if gguf_file else str(path)
            raise GenerationError(f"cannot load the LLM from {where}: {exc}") from exc
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

    compact_prompt = False

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
    answers), an :class:`OpenAIGenerator` for an http(s) URL, a
    :class:`LlamaCppGenerator` for a ``.gguf`` file when llama.cpp is
    installed (``make llm``), otherwise a :class:`TransformersGenerator`
    (a model folder, or a ``.gguf`` dequantized: slow, but needs no build).
    Local models are loaded once per process."""
    target = config.llm.strip()
    if not target:
        return None
    if target.lower().startswith(("http://", "https://")):
        return OpenAIGenerator(target, config.llm_model, api_key=config.llm_api_key or None,
                               max_tokens=config.llm_max_new_tokens)
    use_llama_cpp = target.lower().endswith(".gguf") and llama_cpp_available()
    key = (target, config.llm_max_new_tokens, config.llm_context_tokens, config.llm_threads, use_llama_cpp)
    with _LOCAL_LOCK:
        if key not in _LOCAL:
            if use_llama_cpp:
                _LOCAL[key] = LlamaCppGenerator(target, config.llm_max_new_tokens,
                                                context_tokens=config.llm_context_tokens, threads=config.llm_threads)
            else:
                if target.lower().endswith(".gguf"):
                    log.warning("llama-cpp-python is not installed (`make llm`): %s is dequantized by "
                                "transformers instead, roughly 10x slower", target)
                _LOCAL[key] = TransformersGenerator(target, config.llm_max_new_tokens)
        return _LOCAL[key]


_LOCAL: dict[tuple, Generator] = {}
_LOCAL_LOCK = threading.Lock()
