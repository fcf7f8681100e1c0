"""Schemathesis against the app's own OpenAPI description: no 5xx, every response as documented.

Bounded and deterministic (derandomize): the same examples on every run, on
SQLite and PostgreSQL, anonymous and with a write token.
"""

from __future__ import annotations

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance
from sqlalchemy.orm import Session

from app.clock import FixedClock
from app.models import Account
from app.services import tokens


@pytest.fixture
def api_schema(app: FastAPI, demo: Session) -> schemathesis.schemas.BaseSchema:
    return schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.fixture
def write_token(session: Session, clock: FixedClock) -> str:
    account = Account(email="fuzz@example.org", password_hash="x", role="editor")
    session.add(account)
    session.flush()
    issued = tokens.create_token(session, account, name="fuzz", scope="write", now=clock.now())
    session.commit()
    return issued.token


schema = schemathesis.pytest.from_fixture("api_schema")
# A request can match the schema's types and still name something that does
# not exist (currency "000", an unknown actor): a clear 400 is the right
# answer there, so that check is off. Its mirror image is off too: in a query
# string every value is text, and the list reports a value it cannot use in
# `ignored` rather than refusing the page (bodies are strict: extra="forbid",
# and the hand-written hostile-body tests in test_api.py cover them). Every
# other check stays on: no 5xx, documented status codes and content types,
# responses matching their schema, Allow on 405.
EXCLUDED = [positive_data_acceptance, negative_data_rejection]
FUZZ = settings(
    max_examples=15,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


@schema.parametrize()
@FUZZ
def test_api_anonymous(case: schemathesis.Case) -> None:
    case.call_and_validate(excluded_checks=EXCLUDED)


@schema.parametrize()
@FUZZ
def test_api_with_write_token(case: schemathesis.Case, write_token: str) -> None:
    case.call_and_validate(
        headers={"Authorization": f"Bearer {write_token}"}, excluded_checks=EXCLUDED
    )
