"""What a reader does in a real browser (JavaScript off): search, filter, page, open, and an
accessibility scan of every page type."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot


def test_search_filter_and_open(page: Page, live_url: str) -> None:
    page.goto(f"{live_url}/commitments")
    expect(page.get_by_role("heading", level=1)).to_have_text("Commitments")
    page.get_by_label("Search titles, summaries and quotes").fill("patrols")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("table.list tbody tr")).to_have_count(1)
    expect(page.locator("table.list")).to_contain_text("Increase in the number of land patrols")
    assert "q=patrols" in page.url
    screenshot(page, "commitments-search")

    page.get_by_role("link", name="Clear all").click()
    page.locator(".facet").get_by_role("link", name="In progress").click()
    expect(page.locator("table.list tbody tr")).to_have_count(4)
    assert "status=in_progress" in page.url
    screenshot(page, "commitments-facet")

    page.locator("table.list tbody a").first.click()
    expect(page.get_by_role("heading", level=1)).not_to_have_text("Commitments")
    assert re.search(r"/commitments/\d+$", page.url)
    screenshot(page, "commitment-detail")


def test_page_forward_and_back(page: Page, live_url: str) -> None:
    page.goto(f"{live_url}/commitments?size=4&sort=title")
    first = page.locator("table.list tbody a").all_inner_texts()
    assert len(first) == 4
    page.get_by_role("link", name="Next page →").click()
    second = page.locator("table.list tbody a").all_inner_texts()
    assert len(second) == 4
    assert not set(first) & set(second)
    screenshot(page, "commitments-page-2")
    page.get_by_role("link", name="← Previous page").click()
    assert page.locator("table.list tbody a").all_inner_texts() == first


def test_bad_input_is_explained(page: Page, live_url: str) -> None:
    response = page.goto(f"{live_url}/commitments?announced_from=2021-02-30")
    assert response is not None
    assert response.status == 400
    expect(page.locator("main")).to_contain_text("is not a date")
    page.goto(f"{live_url}/commitments?status=bogus")
    expect(page.get_by_role("status").first).to_contain_text("status=bogus")
    screenshot(page, "commitments-ignored-filter")


def _first_link(page: Page, live_url: str, list_path: str, pattern: str) -> str:
    page.goto(f"{live_url}{list_path}")
    href = page.locator(f"main a[href^='{pattern}']").first.get_attribute("href")
    assert href
    return href


@pytest.mark.parametrize(
    "kind",
    [
        "dashboard",
        "commitments",
        "commitment",
        "sources",
        "source",
        "actors",
        "actor",
        "indicator",
        "not-found",
        "api-reference",
    ],
)
def test_accessibility_scan(scan_page: Page, live_url: str, kind: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    page = scan_page

    paths = {
        "dashboard": "/",
        "commitments": "/commitments",
        "sources": "/sources",
        "actors": "/actors",
        "not-found": "/commitments/999999",
        "api-reference": "/docs",
    }
    if kind in paths:
        path = paths[kind]
    elif kind == "commitment":
        path = _first_link(page, live_url, "/commitments?q=operational", "/commitments/")
    elif kind == "source":
        path = _first_link(page, live_url, "/sources", "/sources/")
    elif kind == "actor":
        path = _first_link(page, live_url, "/actors", "/actors/")
    else:
        # A fresh database: the demo's first indicator has id 1.
        path = "/indicators/1"
    page.goto(f"{live_url}{path}")
    screenshot(page, f"page-{kind}")
    results = Axe().run(page)
    serious = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == [], serious
