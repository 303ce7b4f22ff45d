"""Errors: RFC 9457 problem details with field path, masked value and rule, in zh-CN or en."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gridguard_http.app import Settings, create_app
from gridguard_http.auth import TokenStore
from gridguard_http.problems import language
from http_world import DOCTOR, bearer, build_store, local
from starlette.testclient import TestClient

import gridguard

PROBLEM = "application/problem+json"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    url = build_store(tmp_path / "s.db")
    tokens = tmp_path / "t.json"
    token = TokenStore(tokens).create(DOCTOR)[1]
    app = create_app(Settings(db=url, tokens=str(tokens), max_body=64 * 1024))
    with TestClient(app, raise_server_exceptions=False, headers=bearer(token)) as c:
        yield c


def visit(**kw: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "at": local(9).isoformat(),
        "household_id": "h1",
        "outcome": "not_home",
        **kw,
    }


def test_a_bad_field_names_its_path_value_and_rule(client: TestClient) -> None:
    got = client.post("/visits", json=[visit(), visit(outcome="flying")])
    assert got.status_code == 422
    assert got.headers["content-type"] == PROBLEM
    body = got.json()
    assert body["type"] == "/problems/validation"
    assert body["status"] == 422
    assert body["instance"] == "/visits"
    [error] = body["errors"]
    assert error["path"] == "$[1].outcome"
    assert error["value"] == "'flying'"
    assert error["rule"].startswith("must be one of")
    # Nothing of a batch with a malformed record is stored.
    assert client.get("/visits").json()["items"] == []


def test_a_missing_id_is_refused_so_that_retries_stay_safe(client: TestClient) -> None:
    body = visit()
    del body["id"]
    got = client.post("/visits", json=body)
    assert got.status_code == 422
    assert got.json()["errors"][0]["path"] == "$.id"


def test_personal_values_are_masked_in_errors(client: TestClient) -> None:
    person = client.get("/persons/p1", params={"unmask": "true"})
    assert person.status_code == 200
    data = {**person.json(), "resident_id": "11010119900307888X"}
    got = client.put("/persons/p1", json=data, headers={"If-Match": person.headers["etag"]})
    assert got.status_code == 422
    [error] = got.json()["errors"]
    assert error["path"] == "$.resident_id"
    assert "11010119900307888X" not in got.text
    assert error["value"].startswith("1101")
    assert "*" in error["value"]


def test_titles_follow_accept_language(client: TestClient) -> None:
    zh = client.post(
        "/visits", json=visit(outcome="x"), headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}
    )
    en = client.post("/visits", json=visit(outcome="x"), headers={"Accept-Language": "en-GB"})
    assert zh.json()["title"] == "请求不符合规则"
    assert zh.headers["content-language"] == "zh-CN"
    assert en.json()["title"] == "The request broke a rule"
    assert language("fr, en;q=0.3, zh;q=0.2") == "en"
    assert language("en;q=0.1, zh-TW") == "zh-CN"
    assert language(None) == "en"


def test_bodies_are_size_limited_declared_or_streamed(client: TestClient) -> None:
    big = b"[" + b",".join([b'{"a": "' + b"x" * 1000 + b'"}'] * 100) + b"]"
    got = client.post("/visits", content=big, headers={"Content-Type": "application/json"})
    assert got.status_code == 413
    assert got.headers["content-type"] == PROBLEM

    def chunks() -> Iterator[bytes]:
        for _ in range(100):
            yield b" " * 1024

    streamed = client.post(
        "/visits", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert streamed.status_code == 413


def test_not_json_is_400_and_another_media_type_415(client: TestClient) -> None:
    bad = client.post("/visits", content=b"{nope", headers={"Content-Type": "application/json"})
    assert bad.status_code == 400
    assert bad.json()["type"] == "/problems/malformed"
    text = client.post(
        "/visits", content=b"a=1", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert text.status_code == 415


def test_unknown_routes_and_methods_are_problems(client: TestClient) -> None:
    assert client.get("/nowhere").headers["content-type"] == PROBLEM
    assert client.get("/nowhere").status_code == 404
    assert client.delete("/visits").status_code == 405


class Broken:
    @gridguard.hookimpl
    def authenticate(self, credentials: Any) -> None:
        raise RuntimeError("secret internals at /srv/app.py line 7")


def test_no_stack_trace_reaches_a_client(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    url = build_store(tmp_path / "s.db")
    app = create_app(Settings(db=url, tokens=str(tmp_path / "t.json")), authenticators=[Broken()])
    with TestClient(app, raise_server_exceptions=False) as c:
        got = c.get("/areas")
    assert got.status_code == 500
    assert got.headers["content-type"] == PROBLEM
    assert "secret" not in got.text
    assert "Traceback" not in got.text
    incident = got.json()["incident"]
    assert any(incident in r.getMessage() for r in caplog.records)
