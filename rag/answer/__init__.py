"""Hits to an answer: extractive answers with list gathering and short spans,
what a question expects, citation verification, prompts for an optional LLM
and follow-up rewriting."""
