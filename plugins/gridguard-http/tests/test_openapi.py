"""OpenAPI 3.1 from the attrs models, an offline docs page, schemathesis against a live server."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import attrs
import pytest
from gridguard_http.app import Settings, create_app
from gridguard_http.auth import TokenStore
from gridguard_http.openapi import openapi
from gridguard_http.resources import OPERATIONS
from http_world import build_store, live_server
from starlette.testclient import TestClient

from gridguard import LOCAL_ADMIN
from gridguard.model import Household, Person, Visit


def test_the_document_is_openapi_31_with_a_schema_per_model() -> None:
    doc = openapi(OPERATIONS)
    assert doc["openapi"] == "3.1.0"
    schemas = doc["components"]["schemas"]
    for cls in (Visit, Household, Person):
        assert set(schemas[cls.__name__]["properties"]) == {f.name for f in attrs.fields(cls)}
    outcomes = set(schemas["Visit"]["properties"]["outcome"]["enum"])
    assert outcomes == {"screened", "not_home", "vacant", "refused"}
    assert schemas["Visit"]["properties"]["at"] == {"type": "string", "format": "date-time"}
    assert schemas["Person"]["properties"]["phone"]["type"] == ["string", "null"]
    assert {"/visits", "/households/{id}", "/reports/{kind}", "/coverage"} <= set(doc["paths"])
    put = doc["paths"]["/households/{id}"]["put"]
    assert {"412", "428"} <= set(put["responses"])


def test_the_docs_page_loads_nothing_from_anywhere(tmp_path: Path) -> None:
    url = build_store(tmp_path / "s.db")
    with TestClient(create_app(Settings(db=url, tokens=str(tmp_path / "t.json")))) as client:
        page = client.get("/docs")
        spec = client.get("/openapi.json")
    assert page.status_code == 200
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    assert "<script" not in page.text
    assert not re.search(r"(src|href)=['\"]?https?://", page.text)
    assert "/visits" in page.text
    assert spec.json()["openapi"] == "3.1.0"


@pytest.mark.slow
def test_schemathesis_finds_no_server_error_and_no_schema_mismatch(tmp_path: Path) -> None:
    st = shutil.which("st", path=str(Path(sys.executable).parent)) or shutil.which("st")
    if st is None:
        pytest.skip("schemathesis is not installed")
    url = build_store(tmp_path / "s.db")
    tokens = tmp_path / "t.json"
    token = TokenStore(tokens).create(LOCAL_ADMIN)[1]
    with live_server(url, tokens) as base:
        run = subprocess.run(
            [
                st,
                "run",
                f"{base}/openapi.json",
                "-H",
                f"Authorization: Bearer {token}",
                "--max-examples",
                "3",  # every operation still runs; its inputs are fuzzed three times
                "--phases",
                "fuzzing",
                "--checks",
                "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance",
                "--generation-deterministic",
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=tmp_path,
        )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert re.search(r"\d+ generated, \d+ passed", run.stdout)
