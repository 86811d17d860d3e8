"""Per-browser settings, the per-request engine they make, and the build
progress shown while the index is rebuilt.

Settings are a JSON dict kept in the browser (``gr.BrowserState``)::

    {"top_k": 5, "mode": "extractive" | "llm", "llm": "", "llm_model": "", "lang": "zh" | "en"}

They become :class:`rag.config.Config` overrides for one request; the
process-wide engine is never changed by a session.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rag.config import AnswerMode, Config
from rag.index.progress import BuildProgress, Stage
from ui.exposure import endpoint_allowed
from ui.i18n import pick_language, t

TOP_K_RANGE = (1, 20)


def default_settings(config: Config) -> dict[str, Any]:
    return {"top_k": config.top_k, "mode": config.answer_mode.value, "llm": "",
            "llm_model": config.llm_model, "lang": ""}


def normalize_settings(settings: Any, config: Config, browser_language: str | None = None) -> dict[str, Any]:
    """Saved settings made whole and valid: missing or broken values fall
    back to the server's defaults; the language to the browser's."""
    base = default_settings(config)
    if isinstance(settings, dict):
        for key in base:
            if key in settings and settings[key] is not None:
                base[key] = settings[key]
    try:
        base["top_k"] = min(TOP_K_RANGE[1], max(TOP_K_RANGE[0], int(base["top_k"])))
    except (TypeError, ValueError):
        base["top_k"] = config.top_k
    if base["mode"] not in set(AnswerMode):
        base["mode"] = AnswerMode.EXTRACTIVE.value
    base["llm"] = str(base["llm"] or "").strip()
    base["llm_model"] = str(base["llm_model"] or "").strip()
    base["lang"] = pick_language(base.get("lang"), browser_language)
    return base


def overrides_for(settings: dict[str, Any], config: Config, allow_custom_endpoint: bool) -> tuple[dict[str, Any], list[str]]:
    """Config changes for one request from the session's settings, and notes
    for the user (e.g. LLM asked for but none configured)."""
    lang = settings.get("lang", "zh")
    changes: dict[str, Any] = {}
    notes: list[str] = []
    top_k = settings.get("top_k", config.top_k)
    if top_k != config.top_k:
        changes["top_k"] = top_k
    if settings.get("mode") == AnswerMode.LLM:
        endpoint = settings.get("llm", "")
        if allow_custom_endpoint and endpoint and endpoint_allowed(endpoint, config):
            llm = endpoint
        else:
            llm = config.llm
            if allow_custom_endpoint and endpoint:
                notes.append(t("llm_endpoint_refused", lang, url=endpoint))
        if not llm:
            notes.append(t("llm_unavailable", lang))
        model = settings.get("llm_model") or config.llm_model
        if llm != config.llm:
            changes["llm"] = llm
            if getattr(config, "llm_api_key", ""):
                changes["llm_api_key"] = ""     # the server's key never goes to a browser's endpoint
        if model != config.llm_model:
            changes["llm_model"] = model
    elif config.llm:
        changes["llm"] = ""
    return changes, notes


def engine_for(engine, changes: dict[str, Any]):
    """An engine answering with ``changes`` applied to the configuration,
    serving the same loaded index and embedder as ``engine`` (see
    :meth:`rag.engine.Engine.with_overrides`)."""
    return engine.with_overrides(**changes)


# Where each stage of a build starts on the progress bar (it ends where the next starts).
_STAGE_SPAN = {Stage.LOAD: (0.0, 0.05), Stage.INDEX: (0.05, 0.1), Stage.EMBED: (0.1, 0.85),
               Stage.TERMS: (0.85, 0.95), Stage.PUBLISH: (0.95, 1.0)}


@dataclass
class ProgressTracker:
    """Turns the build's :class:`rag.index.progress.BuildProgress` steps into one
    rising fraction and a label naming the stage, the file or the count,
    and, while embedding, the rate and the time left."""

    lang: str = "zh"
    last: float = 0.0

    def step(self, p: BuildProgress) -> tuple[float, str]:
        stage = p.stage
        lo, hi = _STAGE_SPAN[stage]
        within = p.done / p.total if p.total else 1.0
        self.last = max(self.last, min(1.0, lo + (hi - lo) * within))
        if stage is Stage.TERMS:   # shown as a step of embedding: "embedding · the term table"
            label = t("stage_embed", self.lang) + " · " + t("terms_label", self.lang)
        else:
            label = t(f"stage_{stage}", self.lang)
            if p.file:
                label += f" · {p.file}"
        if p.total and stage is not Stage.PUBLISH:
            shown = min(p.done + 1, p.total) if stage is Stage.LOAD else p.done
            label += f" ({shown:,}/{p.total:,})"
        if stage in (Stage.EMBED, Stage.TERMS) and p.eta is not None and p.done < p.total:
            label += " · " + t("time_left", self.lang, rate=f"{p.rate:.0f}", minutes=f"{p.eta / 60:.1f}")
        return self.last, label

