"""Typed dependencies shared by the HTML pages (`app.web`) and the JSON API (`app.api`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy.orm import Session

from app import db, errors, money
from app.config import Settings
from app.models import MAX_ID


def get_session(request: Request) -> Iterator[Session]:
    """One unit of work per request, committed before the response is sent."""
    with db.unit_of_work(request.app.state.session_factory) as session:
        yield session


# The small dependencies below are `async def` on purpose: FastAPI runs a plain
# `def` dependency in the thread pool, and each of those hand-offs (to a worker
# thread and back to the event loop) cost more than the function itself.
async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_today(request: Request) -> dt.date:
    today: dt.date = request.app.state.clock.today()
    return today


# scope="function": FastAPI runs the code after `yield` once the route returns
# and before the response goes out, so a failed commit is an error response,
# never a success page over lost data.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]
TodayDep = Annotated[dt.date, Depends(get_today)]

# Ids are positive 32-bit integers (INTEGER columns on PostgreSQL); anything
# else is a 400, not a database error.
RecordId = Annotated[int, Path(ge=1, le=MAX_ID, description="The record's id.")]


def currency_filter(text: str | None) -> str | None:
    """A currency chosen in a query string ("eur" → "EUR"), or a 400 naming the problem."""
    if not text:
        return None
    try:
        return money.normalise_currency(text)
    except money.MoneyError as exc:
        raise errors.BadRequest(f"currency: {exc}") from None
