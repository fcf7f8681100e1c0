"""An editor records a pledge in a real browser, and a concurrent save meets the conflict page.

A real uvicorn server runs in a thread on a port in 8200-8299, against its own
database (SQLite file, or a throw-away PostgreSQL database when the suite runs
on PostgreSQL), with the demo actors loaded. Chromium is Debian's.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import Browser, BrowserContext, Page, expect

from app import db
from app.config import Settings
from app.main import create_app
from app.services import accounts
from app.services.demo import load_demo
from tests.browser.conftest import free_port
from tests.conftest import _database_url

CHROMIUM = Path("/usr/bin/chromium")
EMAIL = "editor@example.org"
OTHER_EMAIL = "colleague@example.org"
PASSWORD = "a long editor password"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's /usr/bin/chromium")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    urls = _database_url(tmp_path_factory, "browser_editing")
    url = next(urls)
    engine = db.make_engine(url)
    db.upgrade(engine)
    factory = db.make_session_factory(engine)
    with db.unit_of_work(factory) as session:
        load_demo(session)
        accounts.create_account(session, EMAIL, PASSWORD, actor_label="test")
        accounts.create_account(session, OTHER_EMAIL, PASSWORD, actor_label="test")
    settings = Settings(
        pledges_env="test", database_url=url, pledges_data_dir=tmp_path_factory.mktemp("data")
    )
    port = free_port(8200, 8299)
    config = uvicorn.Config(
        create_app(settings, engine=engine), host="127.0.0.1", port=port, log_level="warning"
    )
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        uv.should_exit = True
        thread.join(timeout=10)
        engine.dispose()
        for _ in urls:  # drops the PostgreSQL database, if one was made
            pass


def _sign_in(context: BrowserContext, base: str, email: str) -> Page:
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(f"{base}/edit")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Editing")).to_be_visible()
    return page


def _add_money(page: Page, stage: str, amount: str, as_written: str, **extra: str) -> None:
    page.get_by_role("link", name=re.compile("Add money")).click()
    page.get_by_label("Stage").select_option(stage)
    page.locator("#f-amount").fill(amount)
    page.get_by_label("Amount exactly as the source wrote it").fill(as_written)
    for label, value in extra.items():
        field = page.get_by_label(label, exact=True)
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(label=value)
        else:
            field.fill(value)
    page.get_by_role("button", name="Check amounts").click()


def test_editor_records_publishes_and_meets_a_conflict(browser: Browser, server: str) -> None:
    context = browser.new_context()
    context.set_default_timeout(10_000)
    page = _sign_in(context, server, EMAIL)

    # A new commitment, from the statement.
    page.get_by_role("link", name="New commitment").click()
    page.get_by_label("Title").fill("UK funds more beach patrols in northern France")
    page.get_by_label("Kind").select_option("funding")
    page.get_by_role("group", name="Made by").get_by_label("UK Home Office").check()
    page.get_by_role("group", name="For", exact=True).get_by_label(
        "French Ministry of the Interior"
    ).check()
    page.get_by_label("Announced").fill("2020-11-28")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("State: draft")).to_be_visible()
    edit_url = page.url
    commitment_id = int(re.search(r"/commitments/(\d+)/edit", edit_url).group(1))  # type: ignore[union-attr]

    # Its quote, from a source created inline.
    page.get_by_role("link", name="Quote a source").click()
    page.get_by_label("Quote (pasted verbatim)").fill(
        "The UK has pledged to make a further financial investment of €31.4 million"
    )
    page.get_by_label("Where in the source").fill("para 8")
    page.get_by_label("New source: title").fill("UK-France joint statement, 28 November 2020")
    page.get_by_label("New source: kind").select_option("joint_statement")
    page.get_by_label("New source: published on").fill("2020-11-28")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("para 8")).to_be_visible()

    # The € pledge: the exact value is shown before it is saved.
    _add_money(page, "pledge", "€31.4 million", "a further €31.4 million")
    expect(page.get_by_role("status")).to_contain_text("€31,400,000.00")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("cell", name="€31,400,000.00")).to_be_visible()

    # A £ payment with the € equivalent the source states.
    _add_money(
        page,
        "disbursement",
        "£28.1m",
        "£28.1 million",
        **{"Stated equivalent amount": "€31.4m", "Stated equivalent as written": "€31.4 million"},
    )
    expect(page.get_by_role("status")).to_contain_text("£28,100,000.00")
    expect(page.get_by_role("status")).to_contain_text("Stated equivalent: €31,400,000.00")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("cell", name="£28,100,000.00")).to_be_visible()

    # Publish; readers now see it.
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("State: published")).to_be_visible()
    reader = browser.new_context().new_page()
    reader.goto(f"{server}/commitments")
    expect(reader.get_by_text("UK funds more beach patrols in northern France")).to_be_visible()
    csv = reader.request.get(f"{server}/commitments.csv")
    if csv.status == 200:  # the CSV export arrives from another branch
        assert "UK funds more beach patrols in northern France" in csv.text()
    changes = reader.request.get(f"{server}/changes")
    if changes.status == 200:  # so does /changes; the dashboard lists public changes here
        assert "UK funds more beach patrols" in changes.text()
    reader.goto(f"{server}/")
    expect(reader.get_by_text(re.compile("Published commitment “UK funds more"))).to_be_visible()

    # Two editors open the same commitment; the second save meets the conflict page.
    other = _sign_in(browser.new_context(), server, OTHER_EMAIL)
    other.goto(edit_url)
    page.goto(edit_url)
    page.get_by_label("Summary").fill("Summary written by the first editor.")
    page.get_by_role("button", name="Save").first.click()
    expect(page.get_by_label("Summary")).to_have_value("Summary written by the first editor.")

    other.get_by_label("Title").fill("Title written by the second editor")
    other.get_by_role("button", name="Save").first.click()
    expect(
        other.get_by_role("heading", name=re.compile("Someone else saved this commitment"))
    ).to_be_visible()
    expect(other.get_by_role("cell", name="Summary written by the first editor.")).to_be_visible()
    expect(other.get_by_label("Title")).to_have_value("Title written by the second editor")
    # Nothing of the first editor's was lost.
    page.reload()
    expect(page.get_by_label("Summary")).to_have_value("Summary written by the first editor.")
    expect(page.get_by_label("Title")).to_have_value(
        "UK funds more beach patrols in northern France"
    )
    # The second editor keeps the first's summary and saves their own title deliberately.
    other.get_by_label("Summary").fill("Summary written by the first editor.")
    other.get_by_role("button", name="Save my values over theirs").click()
    expect(other.get_by_text("State: published")).to_be_visible()
    page.reload()
    expect(page.get_by_label("Title")).to_have_value("Title written by the second editor")
    expect(page.get_by_label("Summary")).to_have_value("Summary written by the first editor.")

    history = context.new_page()
    history.goto(f"{server}/commitments/{commitment_id}/history")
    expect(history.get_by_text(re.compile("by colleague@example.org"))).to_be_visible()
    context.close()
