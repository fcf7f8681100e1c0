"""The funding report: hand-computed totals over tests/funding_fixture.py, page, CSV and CLI.

Runs on SQLite and on PostgreSQL (the whole suite runs twice).
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import settings as settings_
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import Settings
from app.models import Actor, ExchangeRate
from app.services import browse, funding, rates
from app.services.funding import Basis, FundingQuery
from app.vocab import FlowStage
from tests import funding_fixture

DATA = Path(__file__).parent / "data"
D = Decimal


@pytest.fixture
def fx(session: Session) -> funding_fixture.Fixture:
    built = funding_fixture.build(session)
    session.commit()
    return built


@pytest.fixture
def ecb_rates(session: Session) -> None:
    rates.import_rates(session, (DATA / "ecb-sample.csv").read_text(), filename="ecb-sample.csv")
    session.commit()


def _figures(report: funding.FundingReport) -> dict[tuple[str, str, str], tuple[Decimal, str]]:
    out = {}
    for row in [*report.rows, *report.totals]:
        for stage, cell in row.cells.items():
            if cell.flows:
                label = row.bucket.label if row.bucket else "all"
                out[(label, row.currency, stage.value)] = (cell.amount, cell.qualifier)
    return out


def test_fiscal_year_totals_by_hand(session: Session, fx: funding_fixture.Fixture) -> None:
    # Provider = the UK government: its Home Office is included (a sub-unit) and
    # inherits the April fiscal year.
    report = funding.funding_report(session, FundingQuery(provider=fx.uk, basis=Basis.fiscal_year))
    assert _figures(report) == {
        # B (up to €10m) + C2 €25m + C3 "a further" €5m; C1 superseded, not counted.
        ("FY2021-22", "EUR", "pledge"): (D("40000000.00"), "up_to"),
        # C1's €4m was paid before it was superseded: paid money stays counted.
        ("FY2021-22", "EUR", "disbursement"): (D("4000000.00"), "exact"),
        ("FY2023-24", "GBP", "pledge"): (D("141000000.00"), "exact"),
        # A4 has no period: counted by its value date, 30 September 2023.
        ("FY2023-24", "GBP", "disbursement"): (D("60000000.00"), "exact"),
        ("FY2024-25", "GBP", "pledge"): (D("191000000.00"), "exact"),
        ("FY2025-26", "GBP", "pledge"): (D("144000000.00"), "exact"),
        ("all", "EUR", "pledge"): (D("40000000.00"), "up_to"),
        ("all", "EUR", "disbursement"): (D("4000000.00"), "exact"),
        ("all", "GBP", "pledge"): (D("476000000.00"), "exact"),
        ("all", "GBP", "disbursement"): (D("60000000.00"), "exact"),
    }
    eur = next(r for r in report.totals if r.currency == "EUR")
    assert eur.cells[FlowStage.pledge].part("up_to") == D("10000000.00")
    # The superseded pledge is listed, with what replaced it.
    assert [(ln.flow.id, ln.superseded_by) for ln in report.excluded] == [
        (fx.flows["C1"].id, fx.c2)
    ]
    # The draft's £999m is nowhere; C2's two makers do not count it twice.
    assert fx.flows["D"].id not in {ln.flow.id for ln in report.lines + report.excluded}
    assert [ln.flow.id for ln in report.lines].count(fx.flows["C2"].id) == 1


def test_calendar_years_show_fiscal_periods_as_spans(
    session: Session, fx: funding_fixture.Fixture
) -> None:
    report = funding.funding_report(session, FundingQuery(provider=fx.home_office))
    figures = _figures(report)
    # Home Office alone: B and A, not the UK government's C pledges.
    assert figures[("2021", "EUR", "pledge")] == (D("10000000.00"), "up_to")
    assert figures[("2023", "GBP", "disbursement")] == (D("60000000.00"), "exact")
    # A fiscal year covers two calendar years: shown as a span, never split.
    assert figures[("2023–2024", "GBP", "pledge")] == (D("141000000.00"), "exact")
    assert figures[("2024–2025", "GBP", "pledge")] == (D("191000000.00"), "exact")
    assert figures[("2025–2026", "GBP", "pledge")] == (D("144000000.00"), "exact")
    assert [r.bucket.label for r in report.rows if r.bucket] == [
        "2021",
        "2023",
        "2023–2024",
        "2024–2025",
        "2025–2026",
    ]


def test_filters_stage_currency_receiver_and_period(
    session: Session, fx: funding_fixture.Fixture
) -> None:
    def q(**raw: str) -> dict[tuple[str, str, str], tuple[Decimal, str]]:
        query = funding.parse_query(session, raw)
        return _figures(funding.funding_report(session, query))

    assert q(provider=str(fx.uk.id), stage="disbursement", by="fiscal-year") == {
        ("FY2021-22", "EUR", "disbursement"): (D("4000000.00"), "exact"),
        ("FY2023-24", "GBP", "disbursement"): (D("60000000.00"), "exact"),
        ("all", "EUR", "disbursement"): (D("4000000.00"), "exact"),
        ("all", "GBP", "disbursement"): (D("60000000.00"), "exact"),
    }
    assert set(q(currency="usd")) == {("2022", "USD", "commitment"), ("all", "USD", "commitment")}
    assert q(receiver=fx.ngo.name)[("all", "USD", "commitment")] == (
        D("3000000.00"),
        "approximately",
    )
    # Years within FY2024-25..FY2025-26 only.
    figures = q(provider=str(fx.uk.id), by="fiscal-year", period="2024-04-01/..")
    assert figures[("all", "GBP", "pledge")] == (D("335000000.00"), "exact")
    assert ("all", "EUR", "pledge") not in figures


def test_conversion_to_sterling_by_hand(
    session: Session, fx: funding_fixture.Fixture, ecb_rates: None
) -> None:
    report = funding.funding_report(
        session, FundingQuery(provider=fx.uk, basis=Basis.fiscal_year, convert_to="GBP")
    )
    fy21 = next(r for r in report.converted_rows if r.bucket and r.bucket.label == "FY2021-22")
    pledged = fy21.cells[FlowStage.pledge]
    # 10m × 0.85873 + 25m × 0.85425 + 5m × 0.85513 = 8,587,300 + 21,356,250 + 4,275,650
    assert pledged.rounded == D("34219200.00")
    assert pledged.approximate
    assert pledged.is_ceiling  # includes the "up to" €10m
    assert pledged.qualifier == "up_to"
    assert [str(d) for d in pledged.rate_dates] == ["2021-07-20", "2021-09-15", "2021-11-10"]
    assert pledged.rate_sources == [rates.ECB_SOURCE_NAME]
    assert fy21.cells[FlowStage.disbursement].rounded == D("3441320.00")  # 4m × 0.86033
    # Sterling flows are not converted, and so not approximate.
    fy23 = next(r for r in report.converted_rows if r.bucket and r.bucket.label == "FY2023-24")
    assert fy23.cells[FlowStage.pledge].rounded == D("141000000.00")
    assert not fy23.cells[FlowStage.pledge].approximate
    assert report.converted_total is not None
    total = report.converted_total.cells[FlowStage.pledge]
    assert total.rounded == D("476000000.00") + D("34219200.00")


def test_weekend_value_date_uses_fridays_rate_inverted_and_rounded_once(
    session: Session, fx: funding_fixture.Fixture, ecb_rates: None
) -> None:
    report = funding.funding_report(
        session,
        FundingQuery(provider=fx.home_office, stage=FlowStage.disbursement, convert_to="EUR"),
    )
    (line,) = report.lines
    assert line.flow.value_on is not None
    assert line.flow.value_on.isoformat() == "2023-09-30"  # a Saturday
    assert line.conversion is not None
    (leg,) = line.conversion.legs
    assert (leg.rate_on.isoformat(), leg.base, leg.quote, leg.rate) == (
        "2023-09-29",
        "EUR",
        "GBP",
        D("0.8646"),
    )
    # £60,000,000 / 0.8646 = €69,396,252.6023594… → €69,396,252.60 (half even, at display)
    assert line.conversion.rounded == D("69396252.60")
    # The source's own equivalent is kept apart from the computed one.
    assert line.flow.stated_equivalent == D("69100000.00")


def test_cross_rate_through_the_euro(
    session: Session, fx: funding_fixture.Fixture, ecb_rates: None
) -> None:
    report = funding.funding_report(session, FundingQuery(provider=fx.france, convert_to="GBP"))
    (line,) = report.lines
    assert line.conversion is not None
    # $3,000,000 / 1.0540 × 0.84560 = £2,406,831.1195… on 4 May 2022
    assert line.conversion.rounded == D("2406831.12")
    assert [(leg.base, leg.quote) for leg in line.conversion.legs] == [
        ("EUR", "USD"),
        ("EUR", "GBP"),
    ]


def test_no_rate_means_not_converted_never_guessed(
    session: Session, fx: funding_fixture.Fixture
) -> None:
    report = funding.funding_report(session, FundingQuery(provider=fx.uk, convert_to="JPY"))
    assert report.converted_total is not None
    pledged = report.converted_total.cells[FlowStage.pledge]
    assert pledged.converted == 0
    assert pledged.missing == 6
    # No bar rather than a bar that understates.
    (chart,) = report.charts
    assert chart.currency == "JPY"
    assert set(chart.pledged) == {None, Decimal(0)}  # 0 where a year has no pledge at all


# ------------------------------------------------------------ page and CSV


def _page_figures(page: str) -> set[tuple[str, str, str, str]]:
    """(table, period, currency, stage, value) of every <data> figure in the report tables."""
    found = set()
    for table_id in ("by-year", "totals", "converted"):
        match = re.search(rf'<table class="report" id="{table_id}">(.*?)</table>', page, re.S)
        if not match:
            continue
        for row in re.findall(r"<tr(.*?)</tr>", match.group(1), re.S):
            period = re.search(r'data-period="([^"]*)"', row)
            currency = re.search(r'data-currency="([^"]*)"', row)
            head = re.search(r'<th scope="row">([A-Z]{3})</th>', row)
            for stage, value in re.findall(
                r'data-stage="(\w+)">.*?(?:<data value="([^"]*)"|</td>)', row, re.S
            ):
                if value:
                    cur = currency.group(1) if currency else head.group(1) if head else "?"
                    if table_id == "converted":
                        cur = "converted"
                    label = html.unescape(period.group(1)) if period else "all"
                    found.add((label, cur, stage, value))
    return found


def _csv_figures(text: str) -> set[tuple[str, str, str, str]]:
    rows = list(csv.DictReader(io.StringIO(text)))
    return {
        (
            r["period"],
            "converted" if r["figure"] == "converted" else r["currency"],
            r["stage"],
            r["amount"],
        )
        for r in rows
    }


@pytest.mark.parametrize(
    "params",
    [
        "by=fiscal-year",
        "by=fiscal-year&convert_to=GBP",
        "convert_to=EUR&stage=disbursement",
        "currency=EUR",
    ],
)
def test_csv_matches_the_page(
    client: TestClient, fx: funding_fixture.Fixture, ecb_rates: None, params: str
) -> None:
    query = f"provider={fx.uk.id}&{params}"
    page = client.get(f"/funding?{query}")
    assert page.status_code == 200
    sheet = client.get(f"/funding.csv?{query}")
    assert sheet.status_code == 200
    assert sheet.headers["content-type"].startswith("text/csv")
    page_figures = _page_figures(page.text)
    assert page_figures  # the parser found figures
    assert page_figures == _csv_figures(sheet.text)


def test_page_links_each_figure_to_its_flows_and_quotes(
    client: TestClient, fx: funding_fixture.Fixture, ecb_rates: None
) -> None:
    page = client.get(f"/funding?provider={fx.uk.id}&by=fiscal-year&convert_to=EUR").text
    anchor = "flows-2021-04-01_2022-03-31-EUR-pledge"
    assert f'href="#{anchor}"' in page
    section = page.split(f'id="{anchor}"', 1)[1].split("</section>", 1)[0]
    assert f'href="/commitments/{fx.c2.id}"' in section
    assert f'href="/commitments/{fx.c3.id}"' in section
    assert "a further €5 million" in section  # the quote behind the figure
    assert "top-up" in section
    # Superseded: listed apart, not behind any figure.
    excluded = page.split('id="excluded"', 1)[1]
    assert f'href="/commitments/{fx.c1.id}"' in excluded
    assert f'href="/commitments/{fx.c2.id}"' in excluded
    # The stated equivalent beside the computed one, each labelled.
    row = page.split(f'id="flow-{fx.flows["A4"].id}"', 1)[1].split("</tr>", 1)[0]
    assert "€69,100,000.00" in row
    assert "stated by the source" in row
    assert "≈ €69,396,252.60" in row
    assert "1 EUR = 0.8646 GBP" in row
    # Ceilings are shown as ceilings.
    assert "up to" in page
    assert '<svg class="chart"' in page


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ("stage=paid", "stage: use one of"),
        ("by=decade", "by: use calendar-year or fiscal-year"),
        ("period=20x0", "period:"),
        ("period=FY2020-21", "is a fiscal year, whose months depend on the provider"),
        ("currency=XXX", "currency:"),
        ("convert_to=EURO", "convert_to:"),
        ("provider=999999999", "provider: there is no actor"),
        ("provider=Nobody", "provider: no actor is named"),
        ("provider=" + "9" * 40, "provider: there is no actor"),
    ],
)
def test_bad_parameters_are_400_not_500(client: TestClient, params: str, message: str) -> None:
    for path in ("/funding", "/funding.csv"):
        response = client.get(f"{path}?{params}")
        assert response.status_code == 400, (path, params)
        assert message in html.unescape(response.text)


# ------------------------------------------------------------ the demo (issue 6, done when)


def test_demo_report_shows_the_uk_pledge_to_france(client: TestClient, demo: Session) -> None:
    home_office = demo.scalars(select(Actor).where(Actor.name == "UK Home Office")).one()
    france = demo.scalars(
        select(Actor).where(Actor.name == "French Ministry of the Interior")
    ).one()
    base = f"/funding?provider={home_office.id}&receiver={france.id}"
    page = client.get(base).text
    by_year = page.split('id="by-year"', 1)[1].split("</table>", 1)[0]
    row = by_year.split('data-period="2020"', 1)[1].split("</tr>", 1)[0]
    assert "€31.4 million" in row
    assert row.count('<span class="muted">—</span>') == 3  # nothing committed, paid or spent
    fiscal = client.get(base + "&by=fiscal-year").text
    assert 'data-period="FY2020-21"' in fiscal
    assert "counted by value date" in fiscal  # the flow has no period

    rates.import_rates(demo, (DATA / "ecb-sample.csv").read_text(), filename="ecb-sample.csv")
    demo.commit()
    converted = client.get(base + "&by=fiscal-year&convert_to=GBP").text
    table = converted.split('id="converted"', 1)[1].split("</table>", 1)[0]
    # 28 November 2020 was a Saturday: Friday 27 November's rate is used.
    assert '≈</span> <data value="28106140.00">£28.1 million</data>' in table
    assert "at 1 EUR = 0.8951 GBP of 27 November 2020" in table
    assert rates.ECB_SOURCE_NAME in table
    assert "approximate" in converted


def test_rates_page_lists_rates(client: TestClient, session: Session, ecb_rates: None) -> None:
    page = client.get("/rates?currency=GBP").text
    assert '1 EUR = <data value="0.8951">0.8951</data> GBP' in page
    assert rates.ECB_SOURCE_NAME in page
    assert client.get("/rates?currency=ZZZ").status_code == 400
    assert client.get("/rates?page=0").status_code == 400
    assert session.scalar(select(ExchangeRate.id).limit(1)) is not None


def test_unconverted_figures_in_the_reporting_currency_are_not_marked_approximate(
    client: TestClient, fx: funding_fixture.Fixture, ecb_rates: None
) -> None:
    page = client.get(f"/funding?provider={fx.uk.id}&by=fiscal-year&convert_to=GBP").text
    table = page.split('id="converted"', 1)[1].split("</table>", 1)[0]
    sterling = table.split('data-period="FY2023-24"', 1)[1].split("</tr>", 1)[0]
    assert '<data value="141000000.00">' in sterling
    assert "≈" not in sterling
    euros = table.split('data-period="FY2021-22"', 1)[1].split("</tr>", 1)[0]
    assert "≈" in euros
    # A total's link narrows the report to its flows, keeping the other parameters.
    assert (
        f"/funding?provider={fx.uk.id}&amp;by=fiscal-year&amp;convert_to=GBP&amp;currency=EUR&amp;stage=pledge#flows"
        in page
    )


def _walk(
    session: Session, query: FundingQuery, size: int
) -> tuple[list[int], list[int], list[funding.FundingReport]]:
    """Every page forward from page one, then back from the last: flow ids in page order."""
    reports = [funding.funding_report(session, query, paging=funding.FlowPaging(size=size))]
    while (page := reports[-1].page) is not None and page.next_key is not None:
        paging = funding.FlowPaging(size=size, after=page.next_key)
        reports.append(funding.funding_report(session, query, paging=paging))
    forward = [ln.flow.id for r in reports for ln in r.lines + r.excluded]
    backward: list[int] = []
    report = reports[-1]
    while True:
        backward[:0] = [ln.flow.id for ln in report.lines + report.excluded]
        assert report.page is not None
        if report.page.previous_key is None:
            break
        paging = funding.FlowPaging(size=size, before=report.page.previous_key)
        report = funding.funding_report(session, query, paging=paging)
    return forward, backward, reports


@pytest.mark.parametrize("size", [1, 2, 3, 8, 9, 500])
def test_pages_list_every_flow_once_and_totals_count_every_flow(
    session: Session, fx: funding_fixture.Fixture, size: int
) -> None:
    query = FundingQuery(provider=fx.uk, basis=Basis.fiscal_year)
    whole = funding.funding_report(session, query, paging=funding.FlowPaging(size=500))
    in_order = [ln.flow.id for ln in whole.lines + whole.excluded]
    assert len(in_order) == 9  # 8 counted, then C1's superseded pledge
    assert in_order[-1] == fx.flows["C1"].id
    # The first flows in the order of the figures: FY2021-22 EUR pledges first.
    assert in_order[:2] == [fx.flows["B"].id, fx.flows["C2"].id]
    forward, backward, reports = _walk(session, query, size)
    assert forward == backward == in_order
    assert len(reports) == -(-9 // size)
    for number, report in enumerate(reports):
        # Every page's figures count every flow, not the page's.
        assert _figures(report) == _figures(whole)
        assert report.charts == whole.charts
        assert (report.flow_count, report.excluded_count) == (8, 1)
        page = report.page
        assert page is not None
        assert (page.first, page.last, page.total) == (
            number * size + 1,
            min(9, (number + 1) * size),
            9,
        )


def test_listing_none_loads_no_flows(session: Session, fx: funding_fixture.Fixture) -> None:
    query = FundingQuery(provider=fx.uk, basis=Basis.fiscal_year)
    report = funding.funding_report(session, query, paging=None)
    assert (report.lines, report.excluded, report.page) == ([], [], None)
    assert _figures(report) == _figures(funding.funding_report(session, query))


def test_a_figure_split_across_pages_says_so(session: Session, fx: funding_fixture.Fixture) -> None:
    query = FundingQuery(provider=fx.uk, basis=Basis.fiscal_year)
    # FY2021-22 EUR pledges: B, C2, C3. A page of two cuts the figure's flows.
    first = funding.funding_report(session, query, paging=funding.FlowPaging(size=2))
    assert first.page is not None
    assert (first.page.continued, first.page.continues) == (False, True)
    second = funding.funding_report(
        session, query, paging=funding.FlowPaging(size=2, after=first.page.next_key)
    )
    assert second.page is not None
    assert [ln.flow.id for ln in second.lines] == [fx.flows["C3"].id, fx.flows["C1paid"].id]
    assert (second.page.continued, second.page.continues) == (True, False)


def _token(response_text: str, rel: str) -> str | None:
    found = re.search(rf'rel="{rel}" href="([^"]*)"', response_text)
    return html.unescape(found.group(1)) if found else None


def _listed(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr id="flow-(\d+)"', page)]


@pytest.mark.parametrize("size", [2, 4])
def test_page_links_walk_every_flow_once_keeping_the_filters(
    client: TestClient, fx: funding_fixture.Fixture, ecb_rates: None, size: int
) -> None:
    filters = f"provider={fx.uk.id}&by=fiscal-year&convert_to=GBP"
    whole = client.get(f"/funding?{filters}").text
    expected = _listed(whole)
    assert len(expected) == 9
    assert "Showing flows <strong>1–9</strong> of 9" in whole
    url: str | None = f"/funding?{filters}&size={size}"
    forward: list[int] = []
    pages = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.text
        pages.append(response.text)
        forward += _listed(response.text)
        # Filters and page size survive paging; the figures are always every flow's.
        assert _page_figures(response.text) == _page_figures(whole)
        for part in (f"provider={fx.uk.id}", "by=fiscal-year", "convert_to=GBP", f"size={size}"):
            assert all(
                part in link
                for link in re.findall(
                    r'href="(/funding\?[^"]*after=[^"]*)"', html.unescape(response.text)
                )
            )
        url = _token(response.text, "next")
    assert forward == expected
    assert len(pages) == -(-9 // size)
    assert f"Showing flows <strong>1–{size}</strong> of 9" in pages[0]
    assert f"Showing flows <strong>{size + 1}–{min(9, 2 * size)}</strong> of 9" in pages[1]
    assert "First page" in pages[1]
    assert 'id="excluded"' in pages[-1]
    backward: list[int] = []
    back: str | None = None
    text = pages[-1]
    while True:
        backward[:0] = _listed(text)
        back = _token(text, "prev")
        if back is None:
            break
        assert f"size={size}" in back
        text = client.get(back).text
    assert backward == expected


def test_each_figure_links_to_the_page_that_lists_its_flows(
    client: TestClient, fx: funding_fixture.Fixture
) -> None:
    page = client.get(f"/funding?provider={fx.uk.id}&by=fiscal-year&size=2").text
    by_year = page.split('id="by-year"', 1)[1].split("</table>", 1)[0]
    # Page one lists the FY2021-22 EUR pledges: that figure links within the page.
    assert 'href="#flows-2021-04-01_2022-03-31-EUR-pledge"' in by_year
    # FY2024-25's GBP pledge is further on: its link opens the page starting with its flows.
    anchor = "flows-2024-04-01_2025-03-31-GBP-pledge"
    link = re.search(rf'href="([^"]*#{anchor})"', by_year)
    assert link is not None
    assert link.group(1).startswith("/funding?")
    target = client.get(html.unescape(link.group(1))).text
    assert _listed(target)[0] == fx.flows["A2"].id
    assert f'id="{anchor}"' in target
    # The superseded flows are a link away from every page.
    jump = re.search(r'href="([^"]*)#excluded">Go to the superseded flows', page)
    assert jump is not None
    superseded = client.get(html.unescape(jump.group(1))).text
    assert _listed(superseded) == [fx.flows["C1"].id]
    assert "Showing flows <strong>9–9</strong> of 9" in superseded


def test_the_chart_table_keeps_each_figures_qualifier(
    client: TestClient, fx: funding_fixture.Fixture, ecb_rates: None
) -> None:
    def chart_table(text: str, currency: str) -> str:
        return text.split(f"<caption>{currency}", 1)[1].split("</table>", 1)[0]

    page = client.get(f"/funding?provider={fx.uk.id}&by=fiscal-year").text
    # B is "up to €10 million": the FY2021-22 EUR pledge total is a ceiling, here as above.
    row = chart_table(page, "EUR").split("FY2021-22", 1)[1].split("</tr>", 1)[0]
    assert '<span class="qualifier">up to</span> €40 million' in row
    # The bar's own text alternative says so too.
    assert "<title>Pledged, FY2021-22: up to €40m</title>" in page
    assert "<title>Paid (disbursed), FY2021-22: €4m</title>" in page
    assert "€4 million" in row
    assert row.count("qualifier") == 1  # the payment is exact
    usd = client.get(f"/funding?provider={fx.france.id}").text
    assert "no pledge recorded" in chart_table(usd, "USD")
    converted = client.get(f"/funding?provider={fx.uk.id}&by=fiscal-year&convert_to=GBP").text
    row = chart_table(converted, "GBP").split("FY2021-22", 1)[1].split("</tr>", 1)[0]
    assert '<span class="qualifier">up to</span>' in row


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ("size=0", "size: '0' is not a page size; use a number from 1 to 500"),
        ("size=501", "size: '501' is not a page size"),
        ("size=100000000000000000000", "is not a page size"),
        ("size=ten", "size: 'ten' is not a page size"),
        ("after=garbage", "after: page token is not valid"),
        ("before=" + "A" * 40, "before: page token is not valid"),
        ("after=x&before=y", "give either after or before, not both"),
        ("after=" + "x" * 301, "after: too long"),
    ],
)
def test_bad_paging_is_400_with_a_way_back(
    client: TestClient, fx: funding_fixture.Fixture, params: str, message: str
) -> None:
    response = client.get(f"/funding?provider={fx.uk.id}&{params}")
    assert response.status_code == 400
    text = html.unescape(response.text)
    assert message in text
    assert "This page of the list could not be shown." in text
    assert f'href="/funding?provider={fx.uk.id}">Show the first page of this report' in text
    # The CSV lists no flows: paging parameters do not concern it.
    assert client.get(f"/funding.csv?provider={fx.uk.id}&{params}").status_code == 200


def test_tampered_or_foreign_page_tokens_are_400(
    client: TestClient, fx: funding_fixture.Fixture, settings: Settings
) -> None:
    page = client.get(f"/funding?provider={fx.uk.id}&by=fiscal-year&size=2").text
    url = _token(page, "next")
    assert url is not None
    assert client.get(url).status_code == 200
    token = url.split("after=", 1)[1].split("#", 1)[0]
    # One character changed in the signed payload.
    flipped = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    response = client.get(f"/funding?provider={fx.uk.id}&by=fiscal-year&after={flipped}")
    assert response.status_code == 400
    assert "page token is not valid" in response.text
    # A token of the fiscal-year order means nothing in calendar years.
    response = client.get(f"/funding?provider={fx.uk.id}&after={token}")
    assert response.status_code == 400
    assert "another sort order" in response.text
    # A validly signed token of another list (the commitments list) is refused too.
    secret = settings.pledges_secret_key
    other = browse.encode_cursor(browse.Cursor("-announced", "2021-01-01", 1), secret)
    response = client.get(f"/funding?provider={fx.uk.id}&after={other}")
    assert response.status_code == 400
    # A token signed with our secret but holding nonsense is refused, not a 500.
    nonsense = browse.encode_cursor(
        browse.Cursor("funding-flows:calendar-year", [9, "x", "y", 1, 2, 99, None], 1), secret
    )
    response = client.get(f"/funding?provider={fx.uk.id}&after={nonsense}")
    assert response.status_code == 400
    assert "page token is not valid" in response.text


def test_demo_csv_exact_output(client: TestClient, demo: Session) -> None:
    rates.import_rates(demo, (DATA / "ecb-sample.csv").read_text(), filename="ecb-sample.csv")
    demo.commit()
    home_office = demo.scalars(select(Actor).where(Actor.name == "UK Home Office")).one()
    response = client.get(f"/funding.csv?provider={home_office.id}&by=fiscal-year&convert_to=GBP")
    flow_id = response.text.split("\r\n")[1].split(",")[14]
    assert response.text == (
        "basis,period,period_start,period_end,figure,currency,stage,amount,qualifier,"
        "is_approximate,up_to_amount,approximately_amount,at_least_amount,flow_count,flow_ids,"
        "unconverted_flow_count,rate_dates,rate_sources\r\n"
        "fiscal-year,FY2020-21,2020-04-01,2021-03-31,as stated,EUR,pledge,31400000.00,exact,"
        f"false,0.00,0.00,0.00,1,{flow_id},,,\r\n"
        "fiscal-year,all,,,as stated,EUR,pledge,31400000.00,exact,"
        f"false,0.00,0.00,0.00,1,{flow_id},,,\r\n"
        "fiscal-year,FY2020-21,2020-04-01,2021-03-31,converted,GBP,pledge,28106140.00,"
        f"approximately,true,,,,1,{flow_id},0,2020-11-27,{rates.ECB_SOURCE_NAME}\r\n"
        "fiscal-year,all,,,converted,GBP,pledge,28106140.00,"
        f"approximately,true,,,,1,{flow_id},0,2020-11-27,{rates.ECB_SOURCE_NAME}\r\n"
    )
    assert 'filename="funding.csv"' in response.headers["content-disposition"]


def test_empty_database_and_unknown_rate_table(
    client: TestClient, session: Session, fx: funding_fixture.Fixture, ecb_rates: None
) -> None:
    page = client.get(f"/funding?provider={fx.ngo.id}")
    assert page.status_code == 200
    assert "No money flows match these filters." in page.text
    assert client.get("/rates?source=nothing").status_code == 200
    report = funding.funding_report(
        session,
        funding.parse_query(
            session, {"provider": str(fx.france.id), "convert_to": "GBP", "rates": "Another table"}
        ),
    )
    assert report.converted_total is not None
    assert report.converted_total.cells[FlowStage.commitment].missing == 1


def test_status_superseded_without_a_link_is_also_left_out(
    session: Session, fx: funding_fixture.Fixture
) -> None:
    fx.b.status = "superseded"
    session.commit()
    report = funding.funding_report(session, FundingQuery(provider=fx.uk, basis=Basis.fiscal_year))
    assert _figures(report)[("FY2021-22", "EUR", "pledge")] == (D("30000000.00"), "exact")
    assert {(ln.flow.id, ln.superseded_by) for ln in report.excluded} == {
        (fx.flows["B"].id, None),
        (fx.flows["C1"].id, fx.c2),
    }


# ------------------------------------------------------------ paging, by brute force

_FIGURES = [
    (section, dt.date(year, 1, 1), dt.date(year, 12, 31), str(year), currency, stage)
    for section in (funding.COUNTED, funding.SUPERSEDED)
    for year in (2020, 2021)
    for currency in ("EUR", "GBP")
    for stage in (0, 2)
]


class _ListedFlows:
    """The flows of each figure from a list, for `funding.flow_page` (the database's stand-in)."""

    def __init__(self, by_figure: dict[tuple[Any, ...], list[tuple[dt.date, int]]]) -> None:
        self.by_figure = {place: sorted(found) for place, found in by_figure.items()}

    def take(self, figure: Any, place: Any, *, limit: int, backwards: bool) -> list[funding.Listed]:
        found = self.by_figure[figure.place]
        if backwards:
            chosen = [w for w in found if place is None or w < place][-limit:]
        else:
            chosen = [w for w in found if place is None or w > place][:limit]
        return [funding.Listed(figure, day, flow_id, "value date") for day, flow_id in chosen]

    def count_before(self, figure: Any, place: Any, *, inclusive: bool) -> int:
        found = self.by_figure[figure.place]
        return sum(1 for w in found if (w <= place if inclusive else w < place))


@settings_(max_examples=150, deadline=None)
@given(
    flows=st.lists(
        st.tuples(st.integers(0, len(_FIGURES) - 1), st.integers(0, 3)), min_size=0, max_size=40
    ),
    size=st.integers(1, 7),
    cursor=st.tuples(
        st.integers(0, len(_FIGURES) - 1), st.integers(-1, 4), st.integers(0, 45), st.booleans()
    ),
)
def test_flow_pages_match_a_full_sort(
    flows: list[tuple[int, int]], size: int, cursor: tuple[int, int, int, bool]
) -> None:
    """Any page, from any place, is the slice of the fully sorted listing it should be."""
    by_figure: dict[tuple[Any, ...], list[tuple[dt.date, int]]] = {}
    keys = []
    for flow_id, (figure_index, day) in enumerate(flows, start=1):
        figure = _FIGURES[figure_index]
        value_date = dt.date(2020, 1, 1) + dt.timedelta(days=day)  # several flows share a day
        by_figure.setdefault(figure, []).insert(0, (value_date, flow_id))  # not in order
        keys.append((*figure, value_date, flow_id))
    listing = [
        funding._Figure(
            place,
            funding.Bucket(place[1], place[2], place[3]),
            (1, 0, 0),
            place[4],
            FlowStage.pledge,
            len(found),
        )
        for place, found in sorted(by_figure.items())
    ]
    keys.sort()
    source = _ListedFlows(by_figure)

    def page(paging: funding.FlowPaging) -> tuple[list[Any], funding.FlowPage]:
        chosen, where = funding.flow_page(listing, paging, source)
        return [item.key for item in chosen], where

    # From any place, forwards and backwards, including places no flow holds.
    figure_index, day, flow_id, backwards = cursor
    place = (*_FIGURES[figure_index], dt.date(2020, 1, 1) + dt.timedelta(days=day), flow_id)
    if backwards:
        expected = [k for k in keys if k < place][-size:]
        got, where = page(funding.FlowPaging(size=size, before=place))  # type: ignore[arg-type]
    else:
        expected = [k for k in keys if k > place][:size]
        got, where = page(funding.FlowPaging(size=size, after=place))  # type: ignore[arg-type]
    assert got == expected
    assert where.total == len(keys)
    if expected:
        assert where.first == keys.index(expected[0]) + 1
        assert where.last == keys.index(expected[-1]) + 1
        assert where.continued == (where.first > 1 and keys[where.first - 2][:6] == got[0][:6])
        assert where.continues == (where.last < len(keys) and keys[where.last][:6] == got[-1][:6])
    else:
        assert (where.first, where.last, where.next_key, where.previous_key) == (0, 0, None, None)

    # Page one, then on by the next key; back by the previous key: every flow once.
    walked: list[Any] = []
    got, where = page(funding.FlowPaging(size=size))
    pages = [got]
    while where.next_key is not None:
        assert len(pages) <= len(keys), "the pages do not move on"
        got, where = page(funding.FlowPaging(size=size, after=where.next_key))
        pages.append(got)
    walked = [k for p in pages for k in p]
    assert walked == keys
    back = pages[-1]
    while where.previous_key is not None:
        assert len(back) <= len(keys), "the pages do not move back"
        got, where = page(funding.FlowPaging(size=size, before=where.previous_key))
        back = got + back
    assert back == keys
