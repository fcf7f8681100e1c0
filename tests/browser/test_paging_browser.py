"""Paging through the funding report's flows and the review queue in a real browser,
JavaScript off: next and previous links, filters kept, counts shown, and an accessibility
scan of a middle page.

A server of its own (ports 8300-8339, SQLite) holds the hand-checked funding fixture and
a review queue longer than a page, on a fixed date (1 June 2021).
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from playwright.sync_api import Page, expect

from app import db
from app.clock import FixedClock
from app.config import Settings
from app.main import create_app
from app.models import Commitment
from app.vocab import PublicationState
from tests import funding_fixture
from tests.browser.conftest import free_port, screenshot


@pytest.fixture(scope="module")
def paged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """The server's URL and the id of the fixture's UK government (the provider to report)."""
    path = tmp_path_factory.mktemp("paging") / "paging.db"
    engine = db.make_engine(f"sqlite:///{path}")
    db.upgrade(engine)
    with db.unit_of_work(db.make_session_factory(engine)) as session:
        built = funding_fixture.build(session)
        provider = built.uk.id
        for n in range(7):
            session.add(
                Commitment(
                    kind="action",
                    title=f"Queue row {n}",
                    announced_on=dt.date(2021, 1, 1),
                    next_review_on=dt.date(2021, 5, 20) + dt.timedelta(days=n),
                    state=PublicationState.published,
                )
            )
    settings = Settings(
        pledges_env="test", database_url=f"sqlite:///{path}", pledges_data_dir=path.parent
    )
    app = create_app(settings, engine=engine, clock=FixedClock(dt.date(2021, 6, 1)))
    port = free_port(8300, 8339)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", provider
    server.should_exit = True
    thread.join(timeout=10)
    engine.dispose()


def _flow_rows(page: Page) -> list[str]:
    return [row.get_attribute("id") or "" for row in page.locator("tr[id^='flow-']").all()]


def test_funding_flows_page_forward_and_back_keeping_the_filters(
    page: Page, paged: tuple[str, int]
) -> None:
    base, provider = paged
    page.goto(f"{base}/funding?provider={provider}&by=fiscal-year&size=2")
    count = page.locator("#flows-count")
    expect(count).to_contain_text("Showing flows 1–2 of 9")
    expect(count).to_contain_text("8 counted in the figures, then 1 superseded")
    totals = page.locator("#totals").inner_text()
    seen = [_flow_rows(page)]
    screenshot(page, "funding-page-1")
    while page.get_by_role("link", name="Next page →").count():
        page.get_by_role("link", name="Next page →").first.click()
        assert f"provider={provider}" in page.url
        assert "by=fiscal-year" in page.url
        # Every page's totals count every flow.
        assert page.locator("#totals").inner_text() == totals
        seen.append(_flow_rows(page))
    flat = [row for rows in seen for row in rows]
    assert len(flat) == len(set(flat)) == 9
    expect(count).to_contain_text("Showing flows 9–9 of 9")
    expect(page.get_by_role("heading", name="Superseded, not counted")).to_be_visible()
    screenshot(page, "funding-last-page")
    for rows in reversed(seen[:-1]):
        page.get_by_role("link", name="← Previous page").first.click()
        assert _flow_rows(page) == rows
    # A new filter from the form starts again at page one, keeping the page size.
    page.get_by_label("Years").select_option("calendar-year")
    page.get_by_role("button", name="Show").click()
    assert "size=2" in page.url
    assert "after=" not in page.url
    expect(count).to_contain_text("Showing flows 1–2 of 9")


def test_a_tampered_page_link_is_explained(page: Page, paged: tuple[str, int]) -> None:
    base, provider = paged
    response = page.goto(f"{base}/funding?provider={provider}&after=not-a-token")
    assert response is not None
    assert response.status == 400
    expect(page.get_by_role("alert")).to_contain_text("This page of the list could not be shown")
    page.get_by_role("link", name="Show the first page of this report").click()
    expect(page.locator("#flows-count")).to_contain_text("Showing flows 1–9 of 9")


def test_review_queue_pages_forward_and_back(page: Page, paged: tuple[str, int]) -> None:
    base, _ = paged
    page.goto(f"{base}/reviews/due?size=3")
    expect(page.locator("#queue-count")).to_contain_text("Showing 1–3 of 7")
    first = page.locator("table.list tbody td:nth-child(2)").all_inner_texts()
    page.get_by_role("link", name="Next page →").first.click()
    expect(page.locator("#queue-count")).to_contain_text("Showing 4–6 of 7")
    screenshot(page, "reviews-due-page-2")
    page.get_by_role("link", name="Next page →").first.click()
    assert page.locator("table.list tbody td:nth-child(2)").all_inner_texts() == ["Queue row 6"]
    page.get_by_role("link", name="First page").first.click()
    assert page.locator("table.list tbody td:nth-child(2)").all_inner_texts() == first
    assert re.search(r"size=3", page.url)


@pytest.mark.parametrize(
    "path", ["/funding?by=fiscal-year&size=2&provider=", "/reviews/due?size=3"]
)
def test_middle_pages_pass_an_accessibility_scan(
    scan_page: Page, paged: tuple[str, int], path: str
) -> None:
    from axe_playwright_python.sync_playwright import Axe

    base, provider = paged
    scan_page.goto(f"{base}{path}{provider if path.endswith('=') else ''}")
    scan_page.get_by_role("link", name="Next page →").first.click()
    results = Axe().run(scan_page)
    serious = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == [], serious
