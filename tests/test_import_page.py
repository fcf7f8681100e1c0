"""The editors' CSV upload page: dry run, all-or-nothing, row-numbered problems."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Actor
from tests.editing_helpers import (
    HTML,
    cheap_hashing,  # noqa: F401 - autouse fixture
    csrf,
    make_account,
    sign_in,
)


def _upload(client: TestClient, body: bytes, *, dry_run: bool) -> tuple[int, str]:
    token = csrf(client, "/import")
    data = {"table": "actors", "csrf_token": token}
    if dry_run:
        data["dry_run"] = "true"
    response = client.post(
        "/import", data=data, files={"file": ("actors.csv", body, "text/csv")}, headers=HTML
    )
    return response.status_code, response.text


def _actor_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Actor)) or 0


def test_anonymous_visitors_are_sent_to_sign_in(client: TestClient) -> None:
    response = client.get("/import", headers=HTML, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


def test_dry_run_reports_and_saves_nothing_then_import_saves(
    client: TestClient, session: Session
) -> None:
    from app.services import tables

    header = ",".join(tables.BY_NAME["actors"].header) + "\r\n"
    values = dict.fromkeys(tables.BY_NAME["actors"].header, "")
    values.update(name="Ministère de l’Europe", kind="ministry", country_code="FR", state="draft")
    row = ",".join(values[name] for name in tables.BY_NAME["actors"].header) + "\r\n"
    assert sign_in(client, make_account(session, "importer@example.org")).status_code == 303
    before = _actor_count(session)

    status, page = _upload(client, (header + row).encode(), dry_run=True)
    assert status == 200, page
    assert "Dry run: nothing was saved" in page
    assert "would create 1" in page
    assert _actor_count(session) == before

    status, page = _upload(client, (header + row).encode(), dry_run=False)
    assert status == 200, page
    assert "created 1" in page
    assert _actor_count(session) == before + 1


def test_a_broken_file_changes_nothing_and_names_rows(client: TestClient, session: Session) -> None:
    from app.services import tables

    names = tables.BY_NAME["actors"].header
    header = ",".join(names) + "\r\n"

    def row(**values: str) -> str:
        return ",".join(values.get(name, "") for name in names) + "\r\n"

    body = (
        header
        + row(name="Fine", kind="ministry", state="draft")
        + row(name="Broken", kind="wizard", state="draft")
    )
    assert sign_in(client, make_account(session, "importer2@example.org")).status_code == 303
    before = _actor_count(session)
    status, page = _upload(client, body.encode(), dry_run=False)
    assert status == 422
    assert "Refused: nothing was changed" in page
    assert "row 3" in page
    assert "kind" in page
    assert _actor_count(session) == before
