"""The account page in a real browser: sign in, create a token, see it once, revoke it; axe scan."""

from __future__ import annotations

from playwright.sync_api import Page

from tests.browser.conftest import EDITOR_EMAIL, EDITOR_PASSWORD, screenshot


def _sign_in(page: Page, live_url: str) -> None:
    page.goto(f"{live_url}/login?next=/account")
    page.get_by_label("E-mail").fill(EDITOR_EMAIL)
    page.get_by_label("Password").fill(EDITOR_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_url}/account")


def test_account_page_tokens_without_javascript(page: Page, live_url: str) -> None:
    _sign_in(page, live_url)
    page.get_by_label("Name").fill("browser token")
    page.get_by_label("write: also drafts, and may change data").check()
    page.get_by_role("button", name="Create token").click()
    secret = page.locator("#new-secret").input_value()
    assert secret.startswith("pt_")
    assert "it will not be shown again" in page.inner_text("main")
    page.goto(f"{live_url}/account")
    assert secret not in page.content()
    page.get_by_role("button", name="Revoke token browser token").first.click()
    assert "is revoked" in page.inner_text("main")


def test_account_page_accessibility_scan(scan_page: Page, live_url: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    page = scan_page
    _sign_in(page, live_url)
    page.get_by_label("Name").fill("scanned token")
    page.get_by_role("button", name="Create token").click()
    page.locator("#new-secret").wait_for()
    screenshot(page, "page-account")
    results = Axe().run(page)
    serious = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == [], serious
    # The page with an error summary is scanned too.
    page.get_by_label("Name").fill("")
    page.locator("#t-name").evaluate("el => el.removeAttribute('required')")
    page.get_by_role("button", name="Create token").click()
    page.locator("#t-name-err").wait_for()
    results = Axe().run(page)
    serious = [
        v["id"] for v in results.response["violations"] if v["impact"] in ("serious", "critical")
    ]
    assert serious == [], serious
