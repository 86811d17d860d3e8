"""api.guard over a real server: the API key, cross-site and DNS-rebinding
requests, body size limits; and app.py refusing to serve the API beyond
loopback without a key."""

from __future__ import annotations

import pytest

from api.guard import Guard, exposure_problem
from rag.config import Config


def test_every_api_and_v1_route_needs_the_key_when_the_server_has_one(server):
    with server.client(key=None) as anonymous, server.client(key="wrong") as wrong:
        for method, path in (("GET", "/api/status"), ("GET", "/api/documents"), ("POST", "/api/search"),
                             ("POST", "/api/rebuild"), ("DELETE", "/api/documents/x.txt"), ("GET", "/v1/models"),
                             ("POST", "/v1/chat/completions")):
            for client in (anonymous, wrong):
                response = client.request(method, path, json={"question": "组织"})
                assert response.status_code == 401, (method, path, response.status_code)
                assert response.headers["www-authenticate"] == "Bearer"
        assert anonymous.get("/docs").status_code == 200          # the documentation is not the data


def test_pages_of_other_sites_and_rebound_host_names_are_refused(api):
    assert api.get("/api/status", headers={"Origin": "http://evil.example"}).status_code == 403
    assert api.get("/api/status", headers={"Origin": "null"}).status_code == 403
    assert api.get("/api/status", headers={"Origin": str(api.base_url).rstrip("/")}).status_code == 200
    port = api.base_url.port
    assert api.get("/api/status", headers={"Host": f"evil.example:{port}"}).status_code == 403
    assert api.get("/api/status", headers={"Host": f"localhost:{port}"}).status_code == 200
    # A form post (no preflight in a browser) is not taken as JSON.
    assert api.post("/api/search", content='{"question": "组织"}', headers={"Content-Type": "text/plain"}
                    ).status_code == 422


def test_bodies_over_the_limit_are_refused_announced_or_not(api, server):
    big = b'{"question": "' + b"x" * (server.config.api_max_body_kb * 1024) + b'"}'
    response = api.post("/api/search", content=big, headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and "limit" in response.json()["detail"]

    def chunked():
        for i in range(0, len(big), 8192):
            yield big[i:i + 8192]

    response = api.post("/api/search", content=chunked(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    upload = b"x" * ((server.config.upload_max_mb + 1) * 1024 * 1024 + 1)
    assert api.post("/api/documents", files=[("files", ("big.txt", upload, "text/plain"))]).status_code == 413
    assert not (server.corpus / "big.txt").exists()


def test_the_api_is_not_served_beyond_loopback_without_a_key(tmp_path, capsys):
    shared = Config.from_env({}, host="0.0.0.0", auth="ann:secret")
    assert "--api-key" in exposure_problem(shared)
    assert exposure_problem(shared.replace(api_key="k")) is None and exposure_problem(Config.from_env({})) is None
    assert Guard(None, shared).refusal({})[0] == 503            # even if started some other way
    assert Guard(None, Config.from_env({})).refusal({"host": "127.0.0.1:7860"}) is None
    from app import main

    assert main(["--host", "0.0.0.0", "--auth", "ann:secret", "--corpus", str(tmp_path),
                 "--index", str(tmp_path / "index")]) == 2
    assert "--api-key" in capsys.readouterr().err
