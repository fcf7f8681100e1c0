"""Jinja2 set-up and the filters templates use to show money, dates and periods."""

from __future__ import annotations

import datetime as dt
import functools
from decimal import Decimal
from functools import partial
from typing import Annotated

from babel.dates import format_date
from babel.numbers import format_decimal
from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from app import money, periods
from app.config import Settings
from app.db import PACKAGE_DIR
from app.services import feeds
from app.vocab import AmountQualifier, DeliveryStatus, qualifier_words
from app.web import presenters, timeline


def make_templates(settings: Settings) -> Jinja2Templates:
    env = Environment(
        loader=FileSystemLoader(PACKAGE_DIR / "templates"),
        # Every template is HTML: escape everything, always.
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    locale = settings.pledges_locale

    # Babel's number formatting is the slowest thing a list page does (~25 us a
    # call, 50-200 calls a page), and the same amounts recur from page to page.
    # Keyed by the amount's text, not the Decimal: Decimal("1.0") == Decimal("1.00")
    # but they may be written differently.
    @functools.lru_cache(maxsize=4096)
    def format_cached(amount_text: str, currency: str, style: str) -> str:
        return money.format_money(Decimal(amount_text), currency, style=style, locale=locale)

    def money_filter(amount: Decimal | None, currency: str, style: str = "long") -> str:
        if amount is None:
            return ""
        if type(amount) is not Decimal or type(currency) is not str:
            return money.format_money(amount, currency, style=style, locale=locale)
        return format_cached(str(amount), currency, style)

    def date_filter(value: dt.date | None, precision: str = "day") -> str:
        return human_date(value, precision, locale)

    env.filters["money"] = money_filter
    env.filters["number"] = lambda value: format_decimal(value, locale=locale)
    env.filters["date"] = date_filter
    env.filters["period"] = lambda p: human_period(p, locale)
    env.filters["status_label"] = lambda s: DeliveryStatus(s).label
    env.filters["qualifier_label"] = lambda q: AmountQualifier(q).label
    env.filters["qualifier_words"] = qualifier_words
    env.filters["humanise"] = lambda s: str(s).replace("_", " ")
    env.globals["site_name"] = "Pledge Tracker"
    env.globals["change_page"] = feeds.page_of
    env.globals["money_summary"] = partial(presenters.money_summary, locale=locale)
    env.globals["history_value"] = partial(presenters.history_value, locale=locale)
    env.filters["history_label"] = presenters.history_label
    env.filters["fiscal_year"] = partial(presenters.fiscal_year_text, locale=locale)
    env.globals["status_timeline"] = partial(
        timeline.timeline_view, window_days=settings.pledges_review_due_days, locale=locale
    )
    return Jinja2Templates(env=env)


def human_date(value: dt.date | None, precision: str, locale: str) -> str:
    """A date as precise as it was written: '28 November 2020', 'November 2020', '2019'."""
    if value is None:
        return ""
    match periods.Precision(precision):
        case periods.Precision.YEAR:
            return str(value.year)
        case periods.Precision.MONTH:
            return str(format_date(value, "MMMM y", locale=locale))
        case periods.Precision.QUARTER:
            return f"Q{(value.month - 1) // 3 + 1} {value.year}"
        case _:
            return str(format_date(value, "d MMMM y", locale=locale))


def human_period(period: periods.Period | None, locale: str) -> str:
    """A period in words, marking interpretations of vague wording as approximate."""
    if period is None:
        return ""
    p = periods.Precision
    match period.precision:
        case p.DAY | p.MONTH | p.QUARTER | p.YEAR:
            return human_date(period.start, period.precision, locale)
        case p.FISCAL_YEAR:
            return f"financial year {period.label.removeprefix('FY')}"
    start = human_date(period.start, "day", locale) if period.start else None
    end = human_date(period.end, "day", locale) if period.end else None
    if start and end:
        text = f"{start} – {end}"
    elif start:
        text = f"from {start}"
    else:
        text = f"until {end}"
    return f"about {text}" if period.precision is p.FUZZY else text


async def get_templates(request: Request) -> Jinja2Templates:
    # async: a plain `def` dependency costs a thread-pool hand-off (app.http.deps).
    templates: Jinja2Templates = request.app.state.templates
    return templates


TemplatesDep = Annotated[Jinja2Templates, Depends(get_templates)]
