"""ui.exposure: a browser's LLM endpoint is an address the server calls, so it
is limited to what the operator allows."""

from __future__ import annotations

import pytest

from rag.config import Config
from ui.exposure import custom_endpoints_allowed, endpoint_allowed
from ui.i18n import t
from ui.session import overrides_for

LOCAL = Config.from_env({})
SHARED = Config.from_env({}, host="0.0.0.0", auth="ann:secret")
LISTED = Config.from_env({}, host="0.0.0.0", auth="ann:secret", llm_endpoints="http://10.0.0.5:8080, https://llm.lan")


@pytest.mark.parametrize("url, allowed", [
    ("http://127.0.0.1:8080/v1", True), ("http://localhost:11434", True), ("https://[::1]:8443/v1", True),
    ("http://169.254.169.254/latest/meta-data", False), ("http://10.0.0.5:8080/v1", False),
    ("http://127.0.0.1@evil.example/v1", False), ("http://user:pw@127.0.0.1/v1", False),
    ("file:///etc/passwd", False), ("/models/x.gguf", False), ("http://127.0.0.1:8080/v1 x", False),
    ("http://127.0.0.1:99999/v1", False),
])
def test_on_a_loopback_app_a_browser_may_choose_only_loopback_endpoints(url, allowed):
    assert custom_endpoints_allowed(LOCAL)
    assert endpoint_allowed(url, LOCAL) is allowed


def test_a_shared_app_allows_no_browser_endpoint_unless_the_operator_lists_them():
    assert not custom_endpoints_allowed(SHARED)
    assert not endpoint_allowed("http://127.0.0.1:8080/v1", SHARED)
    assert custom_endpoints_allowed(LISTED)
    assert endpoint_allowed("http://10.0.0.5:8080/v1", LISTED) and endpoint_allowed("https://LLM.lan/v1", LISTED)
    for url in ("http://10.0.0.5:8081/v1", "http://llm.lan/v1", "http://127.0.0.1:8080/v1", "http://10.0.0.6:8080"):
        assert not endpoint_allowed(url, LISTED), url
    off = LOCAL.replace(llm_endpoints="none")
    assert not custom_endpoints_allowed(off) and not endpoint_allowed("http://127.0.0.1:8080/v1", off)


def test_a_refused_endpoint_is_not_called_and_the_user_is_told():
    settings = {"top_k": LOCAL.top_k, "mode": "llm", "llm": "http://169.254.169.254/v1", "lang": "en"}
    changes, notes = overrides_for(settings, LOCAL, True)
    assert "llm" not in changes
    assert notes[0] == t("llm_endpoint_refused", "en", url="http://169.254.169.254/v1")
    listed = {**settings, "llm": "http://10.0.0.5:8080/v1"}
    assert overrides_for(listed, LISTED, custom_endpoints_allowed(LISTED))[0]["llm"] == "http://10.0.0.5:8080/v1"
