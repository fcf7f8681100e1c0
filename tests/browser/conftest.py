"""A live server with the demo data, and Debian's Chromium driven by Playwright.

Browser tests run on SQLite only (their own database file, whatever
TEST_DATABASE_URL says): they check what a person sees, which the
PostgreSQL run of the rest of the suite already covers at the query level.
Screenshots go to test-artifacts/ (gitignored) for a person to look at.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
EDITOR_EMAIL = "axe-editor@example.org"
EDITOR_PASSWORD = "a long browser-test password"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (required under CI=true)", pytrace=False)
    pytest.skip(reason)


if os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"):
    collect_ignore_glob = ["test_*.py"]


def free_port(first: int, last: int) -> int:
    """The first port in first..last that nothing listens on (each test module has a range)."""
    for port in range(first, last + 1):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {first}-{last}")


@pytest.fixture(scope="session")
def live_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    import uvicorn

    from app import db
    from app.clock import FixedClock
    from app.config import Settings
    from app.main import create_app
    from app.services import accounts
    from app.services.demo import load_demo

    path = tmp_path_factory.mktemp("browser") / "browser.db"
    settings = Settings(
        pledges_env="test", database_url=f"sqlite:///{path}", pledges_data_dir=path.parent
    )
    engine = db.make_engine(settings.database_url or f"sqlite:///{path}")
    db.upgrade(engine)
    with db.unit_of_work(db.make_session_factory(engine)) as session:
        load_demo(session)
        # An editor for the pages behind sign-in (the account page).
        accounts.create_account(
            session, EDITOR_EMAIL, EDITOR_PASSWORD, role="editor", actor_label="browser tests"
        )
    app = create_app(settings, engine=engine, clock=FixedClock(dt.date(2021, 1, 15)))
    port = free_port(8160, 8199)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("live server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    engine.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        _skip_or_fail(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    from playwright.sync_api import Browser

    assert isinstance(browser, Browser)
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, java_script_enabled=False
    )
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def scan_page(browser: object) -> Iterator[object]:
    """A page with JavaScript on: axe-core runs as a script in the page."""
    from playwright.sync_api import Browser

    assert isinstance(browser, Browser)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30000)
    yield page
    context.close()


def screenshot(page: object, name: str) -> Path:
    from playwright.sync_api import Page

    assert isinstance(page, Page)
    ARTIFACTS.mkdir(exist_ok=True)
    target = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(target), full_page=True)
    return target
