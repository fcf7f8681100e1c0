"""Every surface that shows a total gives the funding report's figure and qualifier (issue 13).

Random actor trees (sub-units, inherited fiscal months, draft actors),
commitments (drafts, deletions, supersessions, top-ups) and flows in three
currencies, all stages and qualifiers. For the whole record and for one
actor (with its sub-units) the test reads every surface — `/`,
`/actors/{id}`, `/api/v1/totals`, `/api/v1/actors/{id}`, `/funding`,
`/funding.csv`, `pledges report funding` — and asserts each gives exactly the
all-years totals of `funding.funding_report`: the same amounts, to the minor
unit, with the same qualifier. Runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import csv
import html
import io
import os
import re
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console
from sqlalchemy.orm import Session

from app import money
from app.cli_funding import print_funding_report
from app.services import funding
from app.vocab import TOTAL_QUALIFIER_WORDS, FlowStage
from tests import funding_reference

EXAMPLES = 15 if os.environ.get("CI", "").lower() == "true" else 30
HTML = {"accept": "text/html"}
LOCALE = "en_GB"
WORDS_TO_QUALIFIER = {words: q for q, words in TOTAL_QUALIFIER_WORDS.items()}

Figures = dict[tuple[str, str], tuple[Decimal, str]]


def _expected(session: Session, **query: Any) -> Figures:
    report = funding.funding_report(session, funding.FundingQuery(**query), paging=None)
    return {
        (row.currency, stage.value): (cell.amount, cell.qualifier)
        for row in report.totals
        for stage, cell in row.cells.items()
        if cell.flow_count
    }


# A figure in HTML: the `total_figure` macro, or the funding page's figure.
_FIGURE = re.compile(r'(?:<span class="qualifier">([^<]*)</span> )?<data value="([^"]*)">', re.S)


def _html_figures(fragment: str) -> Figures:
    """(currency, stage) -> (amount, qualifier) of every cell marked with its currency and stage."""
    found: Figures = {}
    for currency, stage, cell in re.findall(
        r'<td class="num" data-currency="([A-Z]{3})" data-stage="(\w+)">(.*?)</td>', fragment, re.S
    ):
        match = _FIGURE.search(cell)
        assert match, cell
        found[(currency, stage)] = (
            Decimal(match.group(2)),
            WORDS_TO_QUALIFIER[html.unescape(match.group(1) or "")],
        )
    return found


def _funding_page_figures(page: str) -> Figures:
    found: Figures = {}
    if '<table class="report" id="totals">' not in page:
        assert "No money flows match these filters." in page
        return found
    table = page.split('<table class="report" id="totals">', 1)[1].split("</table>", 1)[0]
    for currency, row in re.findall(r'<tr><th scope="row">([A-Z]{3})</th>(.*?)</tr>', table, re.S):
        for stage, cell in re.findall(r'data-stage="(\w+)">(.*?)</td>', row, re.S):
            match = _FIGURE.search(cell)
            if match:
                found[(currency, stage)] = (
                    Decimal(match.group(2)),
                    WORDS_TO_QUALIFIER[html.unescape(match.group(1) or "")],
                )
    return found


def _csv_figures(text: str) -> Figures:
    return {
        (r["currency"], r["stage"]): (Decimal(r["amount"]), r["qualifier"])
        for r in csv.DictReader(io.StringIO(text))
        if r["period"] == "all" and r["figure"] == "as stated"
    }


def _api_figures(items: list[dict[str, Any]]) -> Figures:
    return {(t["currency"], t["stage"]): (Decimal(t["amount"]), t["qualifier"]) for t in items}


def _cli_figures(session: Session, raw: dict[str, str | None]) -> set[tuple[str, str, str]]:
    """(currency, stage, text) of the "All years" rows the command prints."""
    console = Console(record=True, width=400, color_system=None, file=io.StringIO())
    print_funding_report(session, raw, console, LOCALE)
    stages = list(FlowStage)
    found = set()
    for line in console.export_text().splitlines():
        cells = [c.strip() for c in re.split(r"[│┃|]", line)]
        if "All years" not in cells:
            continue
        at = cells.index("All years")
        currency, values = cells[at + 1], cells[at + 2 : at + 2 + len(stages)]
        for stage, value in zip(stages, values, strict=True):
            if value != "—":
                found.add((currency, stage.value, value))
    return found


def _as_cli(figures: Figures) -> set[tuple[str, str, str]]:
    out = set()
    for (currency, stage), (amount, qualifier) in figures.items():
        words = TOTAL_QUALIFIER_WORDS[qualifier]
        text = money.format_money(amount, currency, "exact", LOCALE)
        out.add((currency, stage, f"{words} {text}" if words else text))
    return out


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=funding_reference.dataset(max_commitments=6), pick=st.integers(0, 4))
def test_every_surface_gives_the_funding_reports_totals(
    session: Session, client: TestClient, data: dict[str, Any], pick: int
) -> None:
    savepoint = session.begin_nested()
    try:
        built = funding_reference.build(session, data)
        session.flush()

        # The whole record: the dashboard, /api/v1/totals, /funding, its CSV, the command.
        expected = _expected(session)
        dashboard = client.get("/", headers=HTML).text
        section = dashboard.split('id="totals-h"', 1)[1].split("</section>", 1)[0]
        assert _html_figures(section) == expected
        assert _api_figures(client.get("/api/v1/totals").json()["totals"]) == expected
        page = client.get("/funding")
        assert page.status_code == 200
        assert _funding_page_figures(page.text) == expected
        assert _csv_figures(client.get("/funding.csv").text) == expected
        assert _cli_figures(session, {}) == _as_cli(expected)

        # One published actor, with its sub-units: its page and API against
        # /funding?provider= and ?receiver=, which also give the report's figures.
        published = [a for a in built.actors if a.state == "published"]
        actor = published[pick % len(published)]
        provided = _expected(session, provider=actor)
        received = _expected(session, receiver=actor)
        page_text = client.get(f"/actors/{actor.id}", headers=HTML).text
        money_section = page_text.split('id="money-h"', 1)[1].split("</section>", 1)[0]
        halves = money_section.split("Received by", 1)
        assert _html_figures(halves[0]) == provided
        assert _html_figures(halves[1]) == received
        detail = client.get(f"/api/v1/actors/{actor.id}").json()
        assert _api_figures(detail["provided_totals"]) == provided
        assert _api_figures(detail["received_totals"]) == received
        for param, figures in (("provider", provided), ("receiver", received)):
            assert _funding_page_figures(client.get(f"/funding?{param}={actor.id}").text) == figures
            assert _csv_figures(client.get(f"/funding.csv?{param}={actor.id}").text) == figures
            assert _cli_figures(session, {param: str(actor.id)}) == _as_cli(figures)
        # The page names the sub-units it counts.
        children = [a for a in published if a.parent_id == actor.id]
        for child in children:
            assert f'<a href="/actors/{child.id}">{html.escape(child.name)}</a>' in money_section
    finally:
        savepoint.rollback()
        session.expunge_all()
