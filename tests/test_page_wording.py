"""Pages say only what the record holds: qualifiers kept, missing records called missing,
overdue dates called overdue, and not-yet-assessed never read as "no action"."""

from __future__ import annotations

import datetime as dt
import re

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clock import FixedClock
from app.models import Commitment, MoneyFlow
from app.services.totals import Total, progress_by_currency
from app.vocab import FlowStage, combined_qualifier
from app.web import presenters


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _funding_pledge(session: Session) -> Commitment:
    return session.scalars(select(Commitment).where(Commitment.kind == "funding")).one()


def _add_flow(session: Session, commitment: Commitment, **values: object) -> MoneyFlow:
    flow = MoneyFlow(commitment_id=commitment.id, **values)
    session.add(flow)
    session.commit()
    return flow


# ------------------------------------------------------------- money summary


def test_no_payment_is_no_payment_recorded_not_nothing_paid(
    client: TestClient, demo: Session
) -> None:
    page = _text(client.get(f"/commitments/{_funding_pledge(demo).id}").text)
    assert "€31.4 million promised; no payment recorded" in page
    assert "nothing paid" not in page.lower()


def test_up_to_promise_keeps_its_qualifier(client: TestClient, demo: Session) -> None:
    pledge = _funding_pledge(demo)
    _add_flow(
        demo,
        pledge,
        stage="pledge",
        amount_minor=1_050_000_000,
        currency="GBP",
        qualifier="up_to",
        amount_text="up to £10.5 million",
    )
    page = _text(client.get(f"/commitments/{pledge.id}").text)
    assert "GBP : up to £10.5 million promised; no payment recorded" in page
    assert "GBP : £10.5 million promised" not in page


def test_paid_of_an_up_to_promise(client: TestClient, demo: Session) -> None:
    pledge = _funding_pledge(demo)
    for stage, minor, qualifier in (
        ("pledge", 1_050_000_000, "up_to"),
        ("disbursement", 300_000_000, "approximately"),
    ):
        _add_flow(
            demo, pledge, stage=stage, amount_minor=minor, currency="GBP", qualifier=qualifier
        )
    page = _text(client.get(f"/commitments/{pledge.id}").text)
    assert "GBP : approx. £3 million paid of up to £10.5 million promised" in page


def test_combined_qualifier() -> None:
    q = combined_qualifier
    assert q([]) == "exact"
    assert q(["exact", "exact"]) == "exact"
    assert q(["exact", "up_to"]) == "up_to"  # a sum with a ceiling in it is a ceiling
    assert q(["approximately", "at_least"]) == "at_least"
    assert q(["approximately", "exact"]) == "approximately"
    assert q(["up_to", "at_least"]) == "mixed"


def test_money_summary_with_only_spending() -> None:
    spent = Total("EUR", FlowStage.expenditure)
    spent.add("exact", 500, 1)
    (progress,) = progress_by_currency([spent])
    assert progress.promise is None
    text = presenters.money_summary(progress, "en_GB")
    assert text == "€5.00 spent; no pledge, commitment or payment recorded in EUR"


def test_funding_chart_table_says_no_payment_recorded(client: TestClient, demo: Session) -> None:
    html = client.get("/funding").text
    table = html[html.index('<table class="chart-data">') :]
    table = _text(table[: table.index("</table>")])
    assert "2020 €31.4 million no payment recorded" in table
    assert "0.00" not in table


# ------------------------------------------------------------- status wording


def _plan(session: Session) -> Commitment:
    return session.scalars(
        select(Commitment).where(Commitment.title.like("New UK–France joint operational plan%"))
    ).one()


def test_overdue_review_reads_overdue_since_in_the_header(
    client: TestClient, demo: Session, clock: FixedClock
) -> None:
    clock.set(dt.date(2021, 6, 1))
    page = _text(client.get(f"/commitments/{_plan(demo).id}").text)
    assert "Next review overdue since 28 May 2021 (“Within the next 6 months”)" in page
    assert "due by 28 May 2021" not in page


def test_review_not_yet_due_reads_due_by(
    client: TestClient, demo: Session, clock: FixedClock
) -> None:
    clock.set(dt.date(2021, 5, 28))  # the day itself is not overdue
    page = _text(client.get(f"/commitments/{_plan(demo).id}").text)
    assert "Next review due by 28 May 2021" in page


def test_not_yet_assessed_past_deadline_is_not_read_as_undelivered(
    client: TestClient, demo: Session
) -> None:
    plan = _plan(demo)
    assert plan.status == "not_yet_assessed"
    page = _text(client.get(f"/commitments/{plan.id}").text)
    assert "Deadline passed; delivery not assessed" in page
    assert "fuzzy passed; delivery not assessed" in page
    assert "without delivery" not in page


def test_assessed_but_undelivered_past_deadline_says_so(client: TestClient, demo: Session) -> None:
    plan = _plan(demo)
    plan.status = "in_progress"
    demo.commit()
    page = _text(client.get(f"/commitments/{plan.id}").text)
    assert "fuzzy passed without delivery" in page
    assert "delivery not assessed" not in page


def test_queue_counts_do_not_claim_no_delivery(client: TestClient, demo: Session) -> None:
    for path in ("/", "/reviews/due"):
        page = _text(client.get(path).text)
        assert "passed, not recorded as delivered" in page, path
        assert "without delivery" not in page, path


# ------------------------------------------------------------- record history


def test_readers_find_the_history_of_every_record_page(client: TestClient, demo: Session) -> None:
    """Commitment, source, actor and indicator pages link their public change history."""
    plan = _plan(demo)
    for list_path, prefix in (
        ("/commitments", "/commitments/"),
        ("/sources", "/sources/"),
        ("/actors", "/actors/"),
    ):
        html = client.get(list_path).text
        record = re.search(rf'href="({prefix}\d+)"', html)
        assert record, list_path
        _history_link_works(client, record.group(1))
    _history_link_works(client, _first_indicator(client, plan.id))


def _first_indicator(client: TestClient, commitment_id: int) -> str:
    found = re.search(r'href="(/indicators/\d+)"', client.get(f"/commitments/{commitment_id}").text)
    assert found
    return found.group(1)


def _history_link_works(client: TestClient, page_path: str) -> None:
    html = client.get(page_path).text
    assert f'<a href="{page_path}/history">History of changes</a>' in html, page_path
    assert f'href="{page_path}/edit"' not in html, "readers get no edit link"
    history = client.get(f"{page_path}/history")
    assert history.status_code == 200, page_path
    assert "History of" in history.text


def test_editors_get_edit_and_history_links(client: TestClient, demo: Session) -> None:
    from tests.editing_helpers import make_account, sign_in

    account = make_account(demo, "links@example.org")
    demo.commit()
    sign_in(client, account)
    path = f"/commitments/{_plan(demo).id}"
    html = client.get(path).text
    links = f'<a href="{path}/edit">Edit</a> · <a href="{path}/history">History of changes</a>'
    assert links in html
