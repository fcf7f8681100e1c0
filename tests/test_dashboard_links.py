"""Dashboard figures lead to the lists behind them; the actor page names its financial year."""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Actor


def _text(page: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


def _section(page: str, heading_id: str) -> str:
    start = page.index(f'id="{heading_id}"')
    return page[start : page.index("</section>", start)]


def test_money_totals_link_to_the_funding_report(client: TestClient, demo: Session) -> None:
    totals = _section(client.get("/").text, "totals-h")
    link = re.search(
        r'<a href="([^"]+)"><data value="31400000.00">€31\.4 million</data></a>', totals
    )
    assert link, totals
    target = html.unescape(link.group(1))
    assert target == "/funding?currency=EUR&stage=pledge#flows"
    report = client.get(target.split("#")[0])
    assert report.status_code == 200
    assert "€31.4 million" in report.text
    assert '<a href="/funding?currency=EUR">EUR</a>' in totals


def test_recent_changes_are_links_and_lead_to_all_changes(
    client: TestClient, demo: Session
) -> None:
    changes = _section(client.get("/").text, "changes-h")
    links = re.findall(r'<li><a href="(/(?:commitments|indicators|actors|sources)/\d+)">', changes)
    assert len(links) == 8, changes
    for path in set(links):
        assert client.get(path).status_code == 200, path
    assert '<a href="/changes">All changes</a>' in changes


def test_queue_counts_link_to_the_matching_lists(client: TestClient, demo: Session) -> None:
    panel = _section(client.get("/").text, "review-panel-h")
    for count_text, href in (
        ("deadlines passed, not recorded as delivered", "/commitments?overdue=1"),
        ("never reviewed", "/commitments?review=never_reviewed"),
    ):
        found = re.search(
            rf'<strong[^>]*>(\d+)</strong> <a href="{re.escape(href)}">{count_text}</a>', panel
        )
        assert found, (count_text, panel)
        listed = _text(client.get(href).text)
        assert f"{found.group(1)} commitments match" in listed, href


def test_actor_page_names_the_financial_year(client: TestClient, demo: Session) -> None:
    uk = demo.scalars(select(Actor).where(Actor.fiscal_year_start_month == 4)).first()
    assert uk is not None
    page = _text(client.get(f"/actors/{uk.id}").text)
    assert "Financial year starts April (April–March)" in page
    assert "month 4" not in page
