"""Test fixtures: a database built by the migrations, one rolled-back transaction per test.

The suite runs against SQLite by default and against PostgreSQL when
TEST_DATABASE_URL names one. Each run creates its own databases (a temporary
SQLite file, or fresh PostgreSQL databases named after the process) and
drops them afterwards, so runs never see each other's data.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from app import db
from app.clock import FixedClock
from app.config import Settings
from app.main import create_app
from app.models import Account
from tests.editing_helpers import cheap_hashing, make_account, sign_in

__all__ = ["cheap_hashing"]  # an autouse fixture: Argon2 with tiny costs in every test

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
IN_CI = os.environ.get("CI", "").lower() == "true"


def pytest_report_header() -> str:
    return f"database: {TEST_DATABASE_URL or 'SQLite (temporary file)'}"


# ----------------------------------------------------------- databases


def _postgres_database(base_url: str, purpose: str) -> Iterator[str]:
    """Create a throw-away PostgreSQL database next to `base_url`; drop it afterwards."""
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        message = f"PostgreSQL at {base_url} is unreachable: {reason}"
        admin.dispose()
        if IN_CI:
            pytest.fail(f"{message} (required under CI=true)", pytrace=False)
        pytest.skip(message)
    name = f"pledges_test_{purpose}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _database_url(tmp_path_factory: pytest.TempPathFactory, purpose: str) -> Iterator[str]:
    if TEST_DATABASE_URL.startswith("postgresql"):
        yield from _postgres_database(TEST_DATABASE_URL, purpose)
    else:
        path = tmp_path_factory.mktemp("db") / f"{purpose}.db"
        yield f"sqlite:///{path}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from _database_url(tmp_path_factory, "main")


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    """The suite's database, with its schema made by running every migration."""
    engine = db.make_engine(database_url)
    db.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    """A connection inside a transaction that is rolled back after the test."""
    with engine.connect() as connection:
        transaction = connection.begin()
        try:
            yield connection
        finally:
            transaction.rollback()


@pytest.fixture
def session_factory(connection: Connection) -> sessionmaker[Session]:
    # Sessions join the test's transaction; their commits release a SAVEPOINT
    # and the outer rollback still undoes everything.
    return sessionmaker(
        bind=connection,
        expire_on_commit=False,
        autoflush=False,
        join_transaction_mode="create_savepoint",
    )


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as session:
        yield session


# ---------------------------------------------------------------- app


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(dt.date(2021, 1, 15))


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(pledges_env="test", database_url=database_url, pledges_data_dir=tmp_path)


@pytest.fixture
def app(
    settings: Settings, engine: Engine, session_factory: sessionmaker[Session], clock: FixedClock
) -> FastAPI:
    application = create_app(settings, engine=engine, clock=clock)
    application.state.session_factory = session_factory
    return application


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def demo(session: Session) -> Session:
    """The demo statement loaded into the test's transaction."""
    from app.services.demo import load_demo

    result = load_demo(session)
    session.commit()
    assert result.loaded
    return session


@pytest.fixture(scope="session")
def migration_database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A second, empty database for tests that walk the migrations up and down."""
    yield from _database_url(tmp_path_factory, "migrations")


# ------------------------------------------------------------- accounts


@pytest.fixture
def editor(client: TestClient, demo: Session) -> Account:
    """An editor signed in on `client`, over the demo data."""
    account = make_account(demo, "ed@example.org")
    assert sign_in(client, account).status_code == 303
    return account


@pytest.fixture
def admin(client: TestClient, demo: Session) -> Account:
    """An administrator signed in on `client`, over the demo data."""
    account = make_account(demo, "admin@example.org", role="admin")
    assert sign_in(client, account).status_code == 303
    return account
