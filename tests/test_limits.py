"""Hostile request bodies get a clear 4xx before any route runs."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from app.web.limits import BodyLimitMiddleware


class Payload(BaseModel):
    name: str


@pytest.fixture
def echo_client() -> TestClient:
    app = FastAPI()
    app.add_middleware(
        BodyLimitMiddleware, max_body_bytes=1000, max_json_depth=8, upload_paths=("/import",)
    )

    @app.post("/echo")
    def echo(payload: Payload) -> dict[str, str]:
        return {"name": payload.name}

    @app.post("/import/x")
    def upload() -> dict[str, str]:
        return {"ok": "yes"}

    return TestClient(app)


def test_normal_body_passes_through(echo_client: TestClient) -> None:
    assert echo_client.post("/echo", json={"name": "ok"}).json() == {"name": "ok"}


def test_oversized_body_is_413(echo_client: TestClient) -> None:
    response = echo_client.post("/echo", json={"name": "x" * 2000})
    assert response.status_code == 413
    assert response.json()["detail"] == "the request body is larger than 1000 bytes"


def test_upload_paths_have_their_own_limit(echo_client: TestClient) -> None:
    assert echo_client.post("/import/x", content=b"x" * 2000).status_code == 200


def test_deep_json_is_400_not_a_recursion_error(echo_client: TestClient) -> None:
    response = echo_client.post(
        "/echo", content=b"[" * 500, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert "nested deeper than 8" in response.json()["detail"]


def test_brackets_inside_strings_do_not_count(echo_client: TestClient) -> None:
    response = echo_client.post("/echo", json={"name": "[[[[[[[[[[[[[[[[[[[["})
    assert response.status_code == 200


def test_invalid_utf8_is_400(echo_client: TestClient) -> None:
    response = echo_client.post(
        "/echo", content=b'{"name": "\xff\xfe"}', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert "not valid UTF-8" in response.json()["detail"]
