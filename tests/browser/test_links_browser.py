"""Linking a commitment to another by words, in a real browser without JavaScript, at desktop
and phone widths; the pick list and the money form pass an axe scan."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import EDITOR_EMAIL, EDITOR_PASSWORD, screenshot

DEPLOYMENTS = 3  # "Significant increase in law enforcement deployments", part of the plan (1)
OBJECTIVE = "Objective: prevent small-boat crossings completely"


def _sign_in(page: Page, live_url: str, next_path: str) -> None:
    page.goto(f"{live_url}/login?next={next_path}")
    page.get_by_label("E-mail").fill(EDITOR_EMAIL)
    page.get_by_label("Password").fill(EDITOR_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_url}{next_path}")


def _serious(page: Page) -> list[object]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize("width", [1280, 390])
def test_words_list_matches_to_pick_from_without_javascript(
    browser: object, live_url: str, width: int
) -> None:
    assert isinstance(browser, Browser)
    context = browser.new_context(
        viewport={"width": width, "height": 900}, java_script_enabled=False
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    edit = f"/commitments/{DEPLOYMENTS}/edit"
    _sign_in(page, live_url, edit)
    part_of = page.get_by_label("Part of (a larger commitment or plan)")
    expect(part_of).to_have_value("1")
    expect(page.locator("#f-parent_id-linked")).to_contain_text("New UK–France joint operational")

    part_of.fill("small-boat crossings")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("commitments match “small-boat crossings”")
    matches = page.get_by_role("group", name=re.compile("Commitments matching"))
    expect(matches.get_by_role("radio")).not_to_have_count(0)
    screenshot(page, f"links-matches-{width}")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    expect(part_of).to_have_value("small-boat crossings")

    matches.get_by_role("radio", name=re.compile(OBJECTIVE)).check()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("alert")).to_have_count(0)
    expect(part_of).to_have_value(re.compile(r"^\d+$"))
    expect(page.locator("#f-parent_id-linked")).to_contain_text(OBJECTIVE)
    screenshot(page, f"links-picked-{width}")

    # Back as it was, for the other browser tests.
    part_of.fill(f"{live_url}/commitments/1")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(part_of).to_have_value("1")
    context.close()


@pytest.mark.parametrize("width", [1280, 390])
def test_pick_list_and_money_form_accessibility_scan(
    browser: object, live_url: str, width: int
) -> None:
    assert isinstance(browser, Browser)
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    _sign_in(page, live_url, f"/commitments/{DEPLOYMENTS}/edit")
    page.get_by_label("Tops up (the earlier commitment it adds to)").fill("crossings")
    page.get_by_role("button", name="Save", exact=True).click()
    page.locator("fieldset.candidates").wait_for()
    assert _serious(page) == []

    page.goto(f"{live_url}/commitments/2/flows/new")
    expect(page.get_by_label("From (provider)")).to_have_value(re.compile(r"^\d+$"))
    expect(page.get_by_label("From (provider)").locator("option:checked")).to_have_text(
        "UK Home Office"
    )
    expect(page.get_by_label("To (receiver)").locator("option:checked")).to_have_text(
        "French Ministry of the Interior"
    )
    screenshot(page, f"links-flow-{width}")
    assert _serious(page) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    context.close()
