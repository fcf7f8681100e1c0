"""Migrations are the only way the schema is made: they must agree with the models,
and go up, down to nothing, and up again on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pytest_alembic import Config as AlembicTestConfig
from pytest_alembic.tests import (
    test_model_definitions_match_ddl,
    test_single_head_revision,
    test_up_down_consistency,
    test_upgrade,
)
from sqlalchemy import Engine, inspect

from app import db

__all__ = [
    "test_model_definitions_match_ddl",
    "test_single_head_revision",
    "test_up_down_consistency",
    "test_upgrade",
]


@pytest.fixture
def alembic_config() -> AlembicTestConfig:
    return AlembicTestConfig(
        config_options={"script_location": str(db.migrations_dir()), "path_separator": "os"}
    )


@pytest.fixture
def alembic_engine(migration_database_url: str) -> Iterator[Engine]:
    engine = db.make_engine(migration_database_url)
    yield engine
    # Leave the database empty for the next test that walks the migrations.
    db.downgrade(engine, "base")
    engine.dispose()


# Full-text search tables (SQLite FTS5 and its shadow tables) are made by raw
# DDL in the browse migration and have no model; see migrations/env.py.
_SEARCH_TABLES = ("commitments_fts", "citations_fts")


def _tables(engine: Engine) -> set[str]:
    names = set(inspect(engine).get_table_names()) - {"alembic_version"}
    return {name for name in names if not name.startswith(_SEARCH_TABLES)}


def test_upgrade_downgrade_upgrade_round_trip(alembic_engine: Engine) -> None:
    db.upgrade(alembic_engine)
    tables = _tables(alembic_engine)
    assert {"commitments", "money_flows", "citations", "reviews", "change_records"} <= tables
    assert db.is_up_to_date(alembic_engine)
    db.downgrade(alembic_engine, "base")
    assert _tables(alembic_engine) == set()
    assert db.current_revision(alembic_engine) is None
    db.upgrade(alembic_engine)
    assert _tables(alembic_engine) == tables


def test_every_table_is_made_by_a_migration(alembic_engine: Engine) -> None:
    from app.models import Base

    db.upgrade(alembic_engine)
    assert set(Base.metadata.tables) == _tables(alembic_engine)


def _named(constraints: list[dict[str, Any]]) -> bool:
    return all(c.get("name") for c in constraints)


def test_constraints_are_named(alembic_engine: Engine) -> None:
    """Unnamed constraints cannot be altered by SQLite batch migrations later."""
    db.upgrade(alembic_engine)
    inspector = inspect(alembic_engine)
    for table in _tables(alembic_engine):
        assert _named(inspector.get_foreign_keys(table)), table
        assert _named(inspector.get_check_constraints(table)), table
        assert _named(inspector.get_unique_constraints(table)), table
