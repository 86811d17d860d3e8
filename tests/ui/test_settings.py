"""ui.settings: the settings tab's handlers as plain Python, over a scripted engine."""

from __future__ import annotations

import pytest
from fake_engine import FakeEngine, config_for

from ui.i18n import Labels
from ui.page import Page
from ui.settings import Settings, mode_choices
from ui.updates import KEEP, Change


@pytest.fixture
def labels() -> Labels:
    labels = Labels()
    labels.add("ask-button", "value", "ask")
    labels.add("mode-radio", "choices", mode_choices)
    return labels


def settings_for(tmp_path, labels, **config) -> Settings:
    return Settings(Page(FakeEngine(config_for(tmp_path, **config))), labels)


def test_opening_the_page_restores_saved_settings_onto_the_controls(tmp_path, labels):
    update = settings_for(tmp_path, labels).restore({"top_k": 7, "mode": "llm", "llm": "http://127.0.0.1:9/v1",
                                                      "llm_model": "m", "lang": "en"}, "zh-CN")
    assert update.settings_store == update.session_settings
    assert (update.top_k, update.mode, update.llm, update.llm_model, update.language) == (
        7, "llm", "http://127.0.0.1:9/v1", "m", "en")
    assert "Index: 1 documents" in update.status and "The passages an answer cites" in update.sources
    assert update.labels == [Change(value="Ask"), Change(choices=mode_choices("en"))]
    assert update.examples.rows and update.delete_choice.props["choices"] == ["essay.txt"]


def test_first_visit_takes_the_browsers_language_and_the_servers_defaults(tmp_path, labels):
    update = settings_for(tmp_path, labels).restore(None, "en-US")
    assert update.language == "en" and update.top_k == 5 and update.mode == "extractive"


def test_a_shared_server_shows_its_own_endpoint_and_never_the_browsers(tmp_path, labels):
    settings = settings_for(tmp_path, labels, host="0.0.0.0", auth="ann:secret", llm="http://server:8080/v1")
    assert settings.restore({"llm": "http://evil.example/v1"}, "zh").llm == "http://server:8080/v1"
    assert settings.save(5, "llm", "http://evil.example/v1", "", "zh").session_settings["llm"] == ""


def test_saving_writes_the_controls_values_to_the_browser_and_the_session_only(tmp_path, labels):
    update = settings_for(tmp_path, labels).save(99, "nonsense", " http://127.0.0.1:9/v1 ", "m", "zh")
    assert update.settings_store == update.session_settings == {
        "top_k": 20, "mode": "extractive", "llm": "http://127.0.0.1:9/v1", "llm_model": "m", "lang": "zh"}
    assert update.status is KEEP and update.labels is KEEP


def test_changing_the_language_relabels_the_page_and_its_status_and_table(tmp_path, labels):
    update = settings_for(tmp_path, labels).change_language(5, "extractive", "", "", "en")
    assert update.session_settings["lang"] == "en"
    assert update.labels == [Change(value="Ask"), Change(choices=mode_choices("en"))]
    assert "Index: 1 documents" in update.status and update.table["headers"][0] == "File"
    assert update.delete_choice is KEEP, "a language change must not drop the file chosen for deletion"
