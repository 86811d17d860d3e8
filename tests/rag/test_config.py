"""rag.config: one Config, the only source of defaults; modes checked when it is made."""

from __future__ import annotations

import argparse

import pytest

from rag.config import AnswerMode, Config, Fusion, Tokenizer


def test_a_mode_given_as_text_becomes_its_enum():
    config = Config.from_env({}, fusion="rrf", lexical_tokenizer="bigram")
    assert config.fusion is Fusion.RRF and config.lexical_tokenizer is Tokenizer.BIGRAM


@pytest.mark.parametrize("make", [lambda: Config(fusion="best"),
                                  lambda: Config.from_env({"RAG_FUSION": "best"}),
                                  lambda: Config.from_env({"RAG_LEXICAL_TOKENIZER": "words"})])
def test_an_unknown_mode_fails_when_the_config_is_made_naming_the_choices(make):
    with pytest.raises(ValueError, match="use one of"):
        make()


def test_the_command_line_takes_a_mode_and_names_the_choices_when_it_is_not_one(capsys):
    parser = argparse.ArgumentParser()
    Config.add_arguments(parser, names=["fusion"])
    assert Config.from_args(parser.parse_args(["--fusion", "dense"])).fusion is Fusion.DENSE
    with pytest.raises(SystemExit):
        parser.parse_args(["--fusion", "best"])
    assert "'best': use one of rrf, weighted, dense, lexical" in capsys.readouterr().err


def test_the_environment_is_read_and_the_command_line_wins():
    assert Config.from_env({"RAG_CHUNK_SIZE": "400"}).chunk_size == 400
    assert Config.from_env({"RAG_CHUNK_SIZE": "400"}, chunk_size=500).chunk_size == 500


def test_the_answer_mode_follows_the_llm_setting():
    assert Config.from_env({}).answer_mode is AnswerMode.EXTRACTIVE
    assert Config.from_env({}, llm="http://127.0.0.1:9/v1").answer_mode is AnswerMode.LLM
