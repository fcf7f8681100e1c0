"""One write path: the form, the API and the CSV import keep the same rules.

Each test makes the same change through every way in and checks that each
accepts it with the same reading, or refuses it with the same reason and
writes nothing (issue "One write path, one read truth").
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.clock import FixedClock
from app.models import (
    Account,
    Actor,
    ChangeRecord,
    Commitment,
    CommitmentActor,
    ExchangeRate,
    MoneyFlow,
    Source,
)
from app.services import exporter, funding, importer, tables
from app.vocab import PublicationState
from tests.editing_helpers import HTML, bearer, hidden, post, text_of

PUBLISHED = PublicationState.published


def _actor(session: Session, name: str, **values: object) -> Actor:
    actor = Actor(name=name, kind="ministry", state=PUBLISHED, **values)
    session.add(actor)
    session.flush()
    return actor


@pytest.fixture
def border_force(demo: Session) -> Actor:
    """HM Government (April years) → Home Office → Border Force (no year of its own)."""
    government = _actor(demo, "HM Government (test)", fiscal_year_start_month=4)
    ministry = _actor(demo, "Home Office (test)", parent_id=government.id)
    agency = _actor(demo, "Border Force (test)", parent_id=ministry.id)
    demo.commit()
    return agency


def _published_commitment(session: Session, maker: Actor, title: str = "Patrol boats") -> int:
    commitment = Commitment(
        title=title,
        kind="funding",
        announced_on=dt.date(2022, 3, 1),
        announced_precision="month",
        state=PUBLISHED,
    )
    session.add(commitment)
    session.flush()
    session.add(CommitmentActor(commitment_id=commitment.id, actor_id=maker.id, role="maker"))
    session.commit()
    return commitment.id


def _csv(header: list[str], rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({name: row.get(name, "") for name in header})
    return out.getvalue().encode()


def _flow_row(commitment_id: int, provider_id: int, **cells: str) -> dict[str, str]:
    return {
        "commitment_id": str(commitment_id),
        "stage": "pledge",
        "amount": "1000000.00",
        "currency": "GBP",
        "qualifier": "exact",
        "provider_id": str(provider_id),
        **cells,
    }


def _fiscal_flows(session: Session, commitment_id: int) -> list[tuple[object, ...]]:
    return [
        (f.period_start_on, f.period_end_on, f.period_precision, f.period_fiscal_start_month)
        for f in session.scalars(
            select(MoneyFlow).where(MoneyFlow.commitment_id == commitment_id).order_by(MoneyFlow.id)
        )
    ]


APRIL_2022 = (dt.date(2022, 4, 1), dt.date(2023, 3, 31), "fiscal_year", 4)


def test_border_force_reads_2022_23_as_april_years_on_every_way_in(
    client: TestClient, demo: Session, editor: Account, clock: FixedClock, border_force: Actor
) -> None:
    commitment_id = _published_commitment(demo, border_force)
    # The form: "2022-23" in the provider's inherited April years.
    form = {
        "stage": "pledge",
        "amount": "£1m",
        "qualifier": "exact",
        "provider_id": str(border_force.id),
        "period": "2022-23",
    }
    check = post(client, f"/commitments/{commitment_id}/flows/new", form)
    assert check.status_code == 200, text_of(check.text)
    assert "FY2022-23" in text_of(check.text)
    saved = post(
        client,
        f"/commitments/{commitment_id}/flows/new",
        {**form, "confirmed": hidden(check.text, "confirmed")},
    )
    assert saved.status_code == 303
    # The API: the same text, the same reading.
    api = client.post(
        f"/api/v1/commitments/{commitment_id}/money-flows",
        json={
            "stage": "pledge",
            "amount": "1000000.00",
            "currency": "GBP",
            "provider_id": border_force.id,
            "period": "2022-23",
        },
        headers=bearer(demo, editor, clock),
    )
    assert api.status_code == 201, api.text
    assert api.json()["period"]["label"] == "FY2022-23"
    # The import: an April fiscal year without a month takes the provider's.
    header = tables.MONEY_FLOWS.header
    data = _csv(
        header,
        [
            _flow_row(
                commitment_id,
                border_force.id,
                period_start_on="2022-04-01",
                period_end_on="2023-03-31",
                period_precision="fiscal_year",
            )
        ],
    )
    report = importer.import_csv(demo, tables.MONEY_FLOWS, data)
    assert report.ok, [str(p) for p in report.problems]
    demo.commit()
    assert _fiscal_flows(demo, commitment_id) == [APRIL_2022] * 3
    # The report counts all three in FY2022-23 of the government (sub-units included).
    query = funding.parse_query(
        demo, {"provider": "HM Government (test)", "by": "fiscal-year"}, include_drafts=True
    )
    report_ = funding.funding_report(demo, query, paging=None)
    labels = {row.bucket.label for row in report_.rows if row.bucket is not None}
    assert labels == {"FY2022-23"}
    [row] = report_.rows
    assert row.cells[funding.FlowStage.pledge].minor == 3 * 100_000_000


def test_a_fiscal_year_in_another_month_than_the_providers_is_refused_everywhere(
    client: TestClient, demo: Session, editor: Account, clock: FixedClock, border_force: Actor
) -> None:
    commitment_id = _published_commitment(demo, border_force)
    flows_before = demo.scalar(select(func.count()).select_from(MoneyFlow))
    # A calendar fiscal year (January) for an actor whose years start in April.
    data = _csv(
        tables.MONEY_FLOWS.header,
        [
            _flow_row(commitment_id, border_force.id),
            _flow_row(
                commitment_id,
                border_force.id,
                period_start_on="2022-01-01",
                period_end_on="2022-12-31",
                period_precision="fiscal_year",
                period_fiscal_start_month="1",
            ),
        ],
    )
    report = importer.import_csv(demo, tables.MONEY_FLOWS, data)
    assert not report.ok
    [problem] = report.problems
    assert problem.row == 3
    assert problem.column == "period_fiscal_start_month"
    assert "starts in April" in problem.reason
    assert demo.scalar(select(func.count()).select_from(MoneyFlow)) == flows_before


@pytest.mark.parametrize(
    ("announced_on", "precision", "reason"),
    [
        ("2019-04-01", "fiscal_year", "not a fiscal year"),
        ("2019-09-15", "fuzzy", "not a fuzzy"),
        ("2019-09-15", "range", "not a range"),
        ("2019-09-15", "month", "2019-09-15 is not the first day of a month"),
        ("2019-04-01", "quarter", "2019-04-01"),  # a quarter's first day: accepted
        ("2019-02-01", "quarter", "not the first day of a quarter"),
        ("2019-01-02", "year", "not the first day of a year"),
    ],
)
def test_the_import_refuses_announcement_dates_the_form_refuses(
    demo: Session, announced_on: str, precision: str, reason: str
) -> None:
    before = demo.scalar(select(func.count()).select_from(Commitment))
    row = {
        "kind": "action",
        "title": "Imported",
        "announced_on": announced_on,
        "announced_precision": precision,
        "status": "not_yet_assessed",
        "is_additional": "false",
        "state": "draft",
    }
    report = importer.import_csv(
        demo, tables.COMMITMENTS, _csv(tables.COMMITMENTS.header, [row, row])
    )
    if precision == "quarter" and announced_on == "2019-04-01":
        assert report.ok, [str(p) for p in report.problems]
        return
    assert not report.ok
    assert [p.row for p in report.problems] == [2, 3]
    assert {p.column for p in report.problems} == {"announced_precision"}
    assert all(reason in p.reason for p in report.problems), report.problems[0].reason
    assert demo.scalar(select(func.count()).select_from(Commitment)) == before


def test_the_form_and_the_api_refuse_the_same_announcements(
    client: TestClient, demo: Session, editor: Account, clock: FixedClock
) -> None:
    maker = demo.scalars(select(Actor.id)).first()
    auth = bearer(demo, editor, clock)
    for announced in ("FY2019-20", "2019-09-15/2019-09-30", "~2019-09-15/2019-09-30"):
        page = post(
            client,
            "/edit/commitments/new",
            {"title": "T", "kind": "action", "makers": str(maker), "announced": announced},
        )
        assert page.status_code == 422
        api = client.post(
            "/api/v1/commitments",
            json={"title": "T", "kind": "action", "makers": [maker], "announced": announced},
            headers=auth,
        )
        assert api.status_code == 422
        message = api.json()["errors"]["announced"]
        assert message in html.unescape(page.text)
        if announced != "FY2019-20":  # read, then refused by the announcement rule
            assert message.startswith("an announcement is a day (2020-11-28), month")


# ------------------------------------------------- published records and drafts


def _draft_actor(session: Session, name: str = "Draft agency") -> Actor:
    actor = Actor(name=name, kind="agency", state=PublicationState.draft)
    session.add(actor)
    session.commit()
    return actor


def _makers(session: Session, commitment_id: int) -> set[int]:
    return set(
        session.scalars(
            select(CommitmentActor.actor_id).where(
                CommitmentActor.commitment_id == commitment_id, CommitmentActor.role == "maker"
            )
        )
    )


def _commitment_form(session: Session, commitment_id: int) -> dict[str, str]:
    commitment = session.get(Commitment, commitment_id)
    assert commitment is not None
    return {
        "title": commitment.title,
        "kind": commitment.kind,
        "announced": "2020-11-28",
        "version": str(commitment.version),
    }


def test_naming_a_draft_actor_on_a_published_commitment_asks_to_publish_it(
    client: TestClient, demo: Session, editor: Account
) -> None:
    pledge = demo.scalars(select(Commitment).where(Commitment.kind == "funding")).one()
    makers = [str(a) for a in sorted(_makers(demo, pledge.id))]
    draft = _draft_actor(demo)
    form = {**_commitment_form(demo, pledge.id), "makers": [*makers, str(draft.id)]}
    refused = post(client, f"/commitments/{pledge.id}/edit", form)
    assert refused.status_code == 422
    page = text_of(refused.text)
    assert "“Draft agency”" in page
    assert "is a draft" in page
    assert 'name="also_publish"' in refused.text
    demo.expire_all()
    assert _makers(demo, pledge.id) == {int(m) for m in makers}
    assert demo.get(Actor, draft.id).state == "draft"  # type: ignore[union-attr]
    # Ticked: saved, and the actor is published with it, on the record.
    saved = post(client, f"/commitments/{pledge.id}/edit", {**form, "also_publish": "on"})
    assert saved.status_code == 303
    demo.expire_all()
    assert demo.get(Actor, draft.id).state == "published"  # type: ignore[union-attr]
    published = demo.scalars(
        select(ChangeRecord).where(
            ChangeRecord.entity_type == "actors",
            ChangeRecord.entity_id == draft.id,
            ChangeRecord.action == "publish",
        )
    ).one()
    assert published.account_id == editor.id


def test_the_api_and_the_import_refuse_a_draft_on_a_published_record(
    client: TestClient, demo: Session, editor: Account, clock: FixedClock
) -> None:
    pledge = demo.scalars(select(Commitment).where(Commitment.kind == "funding")).one()
    draft = _draft_actor(demo)
    auth = bearer(demo, editor, clock)
    flow = client.post(
        f"/api/v1/commitments/{pledge.id}/money-flows",
        json={
            "stage": "disbursement",
            "amount": "5.00",
            "currency": "EUR",
            "provider_id": draft.id,
        },
        headers=auth,
    )
    assert flow.status_code == 422
    assert "“Draft agency”" in flow.json()["detail"]
    assert "provider_id" in flow.json()["errors"]
    link = _csv(
        tables.COMMITMENT_ACTORS.header,
        [{"commitment_id": str(pledge.id), "actor_id": str(draft.id), "role": "recipient"}],
    )
    report = importer.import_csv(demo, tables.COMMITMENT_ACTORS, link)
    assert not report.ok
    assert report.problems[0].row == 2
    assert "is a draft" in report.problems[0].reason
    demo.rollback()
    assert demo.get(Actor, draft.id).state == "draft"  # type: ignore[union-attr]


def test_a_record_that_published_pages_show_cannot_be_withdrawn_or_deleted(
    client: TestClient, demo: Session, admin: Account
) -> None:
    plan = demo.scalars(
        select(Commitment).where(
            Commitment.id.in_(select(Commitment.parent_id).where(Commitment.parent_id.is_not(None)))
        )
    ).first()
    assert plan is not None
    for action in ("unpublish", "delete"):
        refused = post(client, f"/commitments/{plan.id}/{action}", {"version": str(plan.version)})
        assert refused.status_code == 409
        assert "published pages show this commitment" in text_of(refused.text)
    demo.expire_all()
    assert demo.get(Commitment, plan.id).state == "published"  # type: ignore[union-attr]
    # Withdrawn to draft in a CSV file: refused with the row.
    row = dict.fromkeys(tables.COMMITMENTS.header, "")
    exported = "".join(exporter.csv_chunks(demo, tables.COMMITMENTS, include_drafts=True))
    for line in csv.DictReader(io.StringIO(exported)):
        if line["id"] == str(plan.id):
            row = {**line, "state": "draft"}
    report = importer.import_csv(demo, tables.COMMITMENTS, _csv(tables.COMMITMENTS.header, [row]))
    assert not report.ok
    assert (report.problems[0].row, report.problems[0].column) == (2, "state")
    assert "cannot be a draft" in report.problems[0].reason


def test_no_public_export_has_an_empty_id_for_something_that_exists(
    client: TestClient, demo: Session
) -> None:
    for spec in tables.TABLES:
        refs = [c for c in spec.columns if c.references]
        if not refs:
            continue
        text = "".join(exporter.csv_chunks(demo, spec, include_drafts=False))
        for line in csv.DictReader(io.StringIO(text)):
            for column in refs:
                if line[column.name] == "" and spec.has_id:
                    stored = demo.execute(
                        select(spec.table.c[column.db_column]).where(
                            spec.table.c.id == int(line["id"])
                        )
                    ).scalar()
                    assert stored is None, (spec.name, line["id"], column.name)


# ------------------------------------------------------------ other rules


def test_an_actor_cannot_become_part_of_itself_through_another(
    client: TestClient, demo: Session, editor: Account
) -> None:
    parent = _actor(demo, "Parent (test)")
    child = _actor(demo, "Child (test)", parent_id=parent.id)
    demo.commit()
    loop = post(
        client,
        f"/actors/{parent.id}/edit",
        {"name": parent.name, "kind": "ministry", "parent_id": str(child.id), "version": "1"},
    )
    assert loop.status_code == 422
    assert "part of itself" in text_of(loop.text)
    row = {"id": str(parent.id), "name": parent.name, "kind": "ministry",
           "parent_id": str(child.id), "state": "published"}  # fmt: skip
    report = importer.import_csv(demo, tables.ACTORS, _csv(tables.ACTORS.header, [row]))
    assert not report.ok
    assert (report.problems[0].row, report.problems[0].column) == (2, "parent_id")
    assert "part of itself" in report.problems[0].reason


def test_only_web_addresses_are_accepted_for_sources(demo: Session) -> None:
    row = {"title": "A page", "kind": "news_article", "url": "javascript:alert(1)",
           "state": "draft"}  # fmt: skip
    report = importer.import_csv(demo, tables.SOURCES, _csv(tables.SOURCES.header, [row]))
    assert not report.ok
    assert (report.problems[0].row, report.problems[0].column) == (2, "url")
    assert demo.scalar(select(Source).where(Source.url == "javascript:alert(1)")) is None


def test_a_rate_corrected_onto_another_one_is_a_form_error(
    client: TestClient, demo: Session, editor: Account
) -> None:
    values = {"base_currency": "EUR", "quote_currency": "GBP", "source_name": "ECB"}
    first = ExchangeRate(rate_on=dt.date(2020, 11, 27), rate=Decimal("0.9"), **values)
    second = ExchangeRate(rate_on=dt.date(2020, 11, 30), rate=Decimal("0.91"), **values)
    demo.add_all([first, second])
    demo.commit()
    clash = post(
        client,
        f"/exchange-rates/{second.id}/edit",
        {**values, "rate_on": "2020-11-27", "rate": "0.91", "version": str(second.version)},
    )
    assert clash.status_code == 422
    assert f"already has a rate for this pair on this date (rate {first.id})" in text_of(clash.text)
    assert client.get("/edit/exchange-rates", headers=HTML).status_code == 200
