"""The report endpoints of the API answer what their HTML pages show, from the same services."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.clock import FixedClock
from app.models import (
    Actor,
    ApiToken,
    ChangeRecord,
    Commitment,
    CommitmentActor,
    MoneyFlow,
    Tag,
)
from app.services import changes, editing, feeds, rates, review_queue, totals
from app.services.derived import ReviewState
from app.vocab import ChangeAction, FlowStage, PublicationState
from tests import funding_fixture
from tests.editing_helpers import api_headers
from tests.test_funding_report import _page_figures

DATA = Path(__file__).parent / "data"


def _problem(response: Any, status: int, *words: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    for word in words:
        assert word in body["detail"], body["detail"]


# ------------------------------------------------------------ review queue


def test_review_queue_matches_the_service_and_the_page(
    client: TestClient, demo: Session, clock: FixedClock
) -> None:
    # The demo's reviews fall due on 28 May 2021: on 20 May they are due, on 10 June overdue.
    clock.set(dt.date(2021, 5, 20))
    body = client.get("/api/v1/reviews/due").json()
    expected = review_queue.review_queue(demo, today=clock.today(), window_days=30)
    assert expected, "the demo has reviews due on this date"
    assert [i["commitment"]["id"] for i in body["items"]] == [i.commitment.id for i in expected]
    assert {i["state"] for i in body["items"]} == {"due"}
    assert body["items"][0]["due_on"] == "2021-05-28"
    assert body["items"][0]["days"] == 8
    counts = review_queue.queue_counts(demo, today=clock.today(), window_days=30)
    assert body["counts"]["review_due"] == counts.review_due == len(expected)
    assert body["counts"]["never_reviewed"] == counts.never_reviewed
    assert body["today"] == "2021-05-20"
    assert body["truncated"] is False
    page = client.get("/reviews/due", headers={"accept": "text/html"}).text
    for item in body["items"]:
        assert f'href="/commitments/{item["commitment"]["id"]}"' in page

    clock.set(dt.date(2021, 6, 10))
    overdue = client.get("/api/v1/reviews/due?state=overdue").json()
    assert len(overdue["items"]) == len(expected)
    assert {i["state"] for i in overdue["items"]} == {"overdue"}
    assert overdue["items"][0]["days"] == 13
    assert overdue["filters"]["state"] == "overdue"
    assert overdue["csv_url"] == "/reviews/due.csv?state=overdue"
    assert client.get("/api/v1/reviews/due?state=due").json()["items"] == []


def test_review_queue_filters_like_the_page(
    client: TestClient, demo: Session, clock: FixedClock
) -> None:
    clock.set(dt.date(2021, 5, 20))
    france = demo.scalars(
        select(Actor).where(Actor.name == "French Ministry of the Interior")
    ).one()
    for query in (f"actor={france.id}", f"actor={france.id}&role=maker"):
        body = client.get(f"/api/v1/reviews/due?{query}").json()
        role = "maker" if "role" in query else None
        filters = review_queue.DueFilters(actor_id=france.id, role=role)
        expected = review_queue.review_queue(
            demo, today=clock.today(), window_days=30, filters=filters
        )
        assert [i["commitment"]["id"] for i in body["items"]] == [i.commitment.id for i in expected]
        assert body["filters"]["actor"]["id"] == france.id
    tag = demo.scalars(select(Tag)).first()
    if tag is not None:
        body = client.get(f"/api/v1/reviews/due?tag={tag.slug}").json()
        assert body["filters"]["tag"] == {"slug": tag.slug, "name": tag.name}
        assert all(tag.slug in [t["slug"] for t in i["commitment"]["tags"]] for i in body["items"])


def test_review_queue_hides_drafts(client: TestClient, session: Session, clock: FixedClock) -> None:
    draft = Commitment(
        kind="action",
        title="Draft due",
        announced_on=dt.date(2021, 1, 1),
        next_review_on=dt.date(2021, 1, 20),
    )
    session.add(draft)
    session.commit()
    assert client.get("/api/v1/reviews/due").json()["items"] == []
    draft.state = PublicationState.published
    session.commit()
    assert [i["commitment"]["id"] for i in client.get("/api/v1/reviews/due").json()["items"]] == [
        draft.id
    ]


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("role=maker", ("role needs an actor",)),
        ("actor=999999", ("no published actor 999999",)),
        ("actor=abc", ("actor",)),
        ("actor=0", ("actor",)),
        ("state=bogus", ("state",)),
        ("role=donor&actor=1", ("role",)),
        ("tag=nope", ("no tag",)),
    ],
)
def test_review_queue_bad_parameters(
    client: TestClient, demo: Session, query: str, words: tuple[str, ...]
) -> None:
    _problem(client.get(f"/api/v1/reviews/due?{query}"), 400, *words)


def test_review_queue_pages_like_the_page(
    client: TestClient, demo: Session, clock: FixedClock
) -> None:
    clock.set(dt.date(2021, 6, 10))
    france = demo.scalars(
        select(Actor).where(Actor.name == "French Ministry of the Interior")
    ).one()
    for n in range(5):
        extra = Commitment(
            kind="action",
            title=f"Paged {n}",
            announced_on=dt.date(2021, 1, 1),
            next_review_on=dt.date(2021, 6, 1),  # all on one day: ordered by id
            state=PublicationState.published,
        )
        demo.add(extra)
        demo.flush()
        demo.add(CommitmentActor(commitment_id=extra.id, actor_id=france.id, role="recipient"))
    demo.commit()
    whole = client.get(f"/api/v1/reviews/due?actor={france.id}").json()
    expected = [i["commitment"]["id"] for i in whole["items"]]
    assert len(expected) == 7  # the demo's two, then the five
    # As before paging: up to 500 rows in one answer.
    assert whole["limit"] == 500
    assert whole["truncated"] is False
    assert whole["page"] == {
        "first": 1,
        "last": 7,
        "total": 7,
        "size": 500,
        "next_url": None,
        "previous_url": None,
    }
    url: str | None = f"/api/v1/reviews/due?actor={france.id}&size=3"
    pages = []
    while url:
        assert f"actor={france.id}" in url
        assert "size=3" in url
        body = client.get(url).json()
        pages.append(body)
        assert body["truncated"] is True
        assert body["counts"] == whole["counts"]
        url = body["page"]["next_url"]
    assert [i["commitment"]["id"] for b in pages for i in b["items"]] == expected
    assert [(b["page"]["first"], b["page"]["last"]) for b in pages] == [(1, 3), (4, 6), (7, 7)]
    back = client.get(pages[-1]["page"]["previous_url"]).json()
    assert back["items"] == pages[1]["items"]
    # The page's own links work here too: the tokens are the same.
    html_page = client.get(f"/reviews/due?actor={france.id}&size=3").text
    token = re.search(r'rel="next" href="[^"]*after=([^"&]*)', html_page)
    assert token is not None
    body = client.get(f"/api/v1/reviews/due?actor={france.id}&size=3&after={token[1]}").json()
    assert body["items"] == pages[1]["items"]


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("size=0", ("size",)),
        ("size=501", ("size",)),
        ("after=garbage", ("after", "page token is not valid")),
        ("after=x&before=y", ("either after or before",)),
    ],
)
def test_review_queue_bad_paging(
    client: TestClient, demo: Session, query: str, words: tuple[str, ...]
) -> None:
    _problem(client.get(f"/api/v1/reviews/due?{query}"), 400, *words)


# ------------------------------------------------------------ changes


def _draft_with_private_change(session: Session) -> Commitment:
    draft = Commitment(kind="action", title="Secret draft", announced_on=dt.date(2021, 1, 1))
    editing.create(session, draft, account_id=None, summary="Created a secret draft")
    session.commit()
    return draft


def test_changes_match_the_public_list_and_page_through_it(
    client: TestClient, demo: Session
) -> None:
    _draft_with_private_change(demo)
    first = client.get("/api/v1/changes").json()
    expected = feeds.list_changes(demo)
    assert [c["id"] for c in first["items"]] == [i.id for i in expected.items]
    assert "Created a secret draft" not in [c["summary"] for c in first["items"]]
    assert first["items"][0]["who"] == "demo loader"

    # Keyset pages of 5, followed to the end, give every public change once, newest first.
    seen: list[int] = []
    url: str | None = "/api/v1/changes?size=5"
    while url:
        page = client.get(url).json()
        assert len(page["items"]) <= 5
        seen.extend(c["id"] for c in page["items"])
        url = page["next"]
    every = [item.id for item in feeds.iter_changes(demo)]
    assert seen == every
    assert len(seen) > 5

    # Filters are the page's: one kind of record, one record.
    pledge = demo.scalars(select(Commitment.id).where(Commitment.kind == "funding")).one()
    one = client.get(f"/api/v1/changes?type=commitments&id={pledge}").json()
    assert one["items"]
    assert {(c["entity_type"], c["entity_id"]) for c in one["items"]} == {("commitments", pledge)}
    assert one["items"][0]["url"] == f"/commitments/{pledge}"
    html = client.get(f"/changes?type=commitments&id={pledge}", headers={"accept": "text/html"})
    assert [f"change-{c['id']}" for c in one["items"]] == re.findall(
        r'id="(change-\d+)"', html.text
    )


def test_changes_show_field_differences(client: TestClient, demo: Session) -> None:
    pledge = demo.scalars(select(Commitment).where(Commitment.kind == "funding")).one()
    old = changes.snapshot(pledge)
    pledge.title = "Renamed pledge"
    demo.flush()
    changes.record(
        demo,
        action=ChangeAction.update,
        entity=pledge,
        summary="Renamed",
        before=old,
        actor_label="test",
    )
    demo.commit()
    [latest] = client.get("/api/v1/changes?size=1").json()["items"]
    assert latest["summary"] == "Renamed"
    assert {"field": "title", "before": old["title"], "after": "Renamed pledge"} in latest["fields"]


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("type=accounts", ("unknown type",)),
        ("type=api_tokens", ("unknown type",)),
        ("action=explode", ("unknown action",)),
        ("id=3", ("id needs a type",)),
        ("before=0", ("before",)),
        ("before=x", ("before",)),
        ("size=0", ("size",)),
        ("size=201", ("size",)),
    ],
)
def test_changes_bad_parameters(client: TestClient, query: str, words: tuple[str, ...]) -> None:
    _problem(client.get(f"/api/v1/changes?{query}"), 400, *words)


def test_history_hides_drafts_and_private_changes_from_anonymous_callers(
    client: TestClient, session: Session, clock: FixedClock
) -> None:
    draft = _draft_with_private_change(session)
    url = f"/api/v1/commitments/{draft.id}/history"
    _problem(client.get(url), 404, "no published commitment")
    _problem(client.get(url, headers=api_headers(session, clock, "read")), 404)
    write = api_headers(session, clock, "write")
    body = client.get(url, headers=write).json()
    assert [c["summary"] for c in body["items"]] == ["Created a secret draft"]

    # Published later: the record is public, its draft-time change stays private.
    editing.publish(session, draft, account_id=None, now=clock.now(), form_version=draft.version)
    session.commit()
    public = client.get(url).json()
    assert [c["action"] for c in public["items"]] == ["publish"]
    assert len(client.get(url, headers=write).json()["items"]) == 2
    # Never an e-mail address, even with a token.
    assert "@" not in client.get(url, headers=write).text


def test_history_matches_the_history_page(client: TestClient, demo: Session) -> None:
    pledge = demo.scalars(select(Commitment.id).where(Commitment.kind == "funding")).one()
    body = client.get(f"/api/v1/commitments/{pledge}/history").json()
    entries = editing.history(
        demo, "commitments", pledge, children=editing.child_ids_of_commitment(demo, pledge)
    )
    assert [c["id"] for c in body["items"]] == [e.change.id for e in entries]
    page = client.get(f"/commitments/{pledge}/history", headers={"accept": "text/html"}).text
    for item in body["items"]:
        assert item["summary"].replace("“", "&#8220;")[:20] in page or item["summary"][:20] in page
    source = demo.scalars(
        select(ChangeRecord.entity_id).where(ChangeRecord.entity_type == "sources")
    ).first()
    assert client.get(f"/api/v1/sources/{source}/history").status_code == 200
    _problem(client.get("/api/v1/actors/999999/history"), 404)
    _problem(client.get("/api/v1/indicators/0/history"), 400)


# ------------------------------------------------------------ funding


@pytest.fixture
def fx(session: Session) -> funding_fixture.Fixture:
    built = funding_fixture.build(session)
    rates.import_rates(session, (DATA / "ecb-sample.csv").read_text(), filename="ecb-sample.csv")
    session.commit()
    return built


def _api_figures(body: dict[str, object]) -> set[tuple[str, str, str, str]]:
    """The same (period, currency, stage, value) tuples `_page_figures` reads from the page."""
    found = set()
    rows = [*body["rows"], *body["totals"]]  # type: ignore[misc]
    for row in rows:
        label = row["period"]["label"] if row["period"] else "all"
        for cell in row["cells"]:
            found.add((label, row["currency"], cell["stage"], cell["amount"]))
    converted = [*body["converted_rows"]]  # type: ignore[misc]
    if body["converted_total"]:
        converted.append(body["converted_total"])
    for row in converted:
        label = row["period"]["label"] if row["period"] else "all"
        for cell in row["cells"]:
            if cell["amount"] is not None:
                found.add((label, "converted", cell["stage"], cell["amount"]))
    return found


@pytest.mark.parametrize(
    "params",
    [
        "by=fiscal-year",
        "by=fiscal-year&convert_to=GBP",
        "convert_to=EUR&stage=disbursement",
        "currency=EUR",
        "period=FY2021-22&by=fiscal-year",
    ],
)
def test_funding_figures_are_the_pages(
    client: TestClient, fx: funding_fixture.Fixture, params: str
) -> None:
    query = f"provider={fx.uk.id}&{params}"
    page = client.get(f"/funding?{query}")
    api = client.get(f"/api/v1/funding?{query}")
    assert api.status_code == 200, api.text
    figures = _page_figures(page.text)
    assert figures
    assert _api_figures(api.json()) == figures
    assert api.json()["csv_url"].startswith("/funding.csv?provider=")


def test_funding_counts_superseded_and_ceilings_like_the_page(
    client: TestClient, fx: funding_fixture.Fixture
) -> None:
    body = client.get(f"/api/v1/funding?provider={fx.uk.id}&by=fiscal-year").json()
    fy21 = next(
        r for r in body["rows"] if r["period"]["label"] == "FY2021-22" and r["currency"] == "EUR"
    )
    pledge = next(c for c in fy21["cells"] if c["stage"] == "pledge")
    assert pledge["amount"] == "40000000.00"
    assert pledge["qualifier"] == "up_to"
    assert pledge["up_to_amount"] == "10000000.00"
    assert body["excluded_count"] == 1
    [excluded] = body["excluded"]
    assert excluded["commitment"]["id"] == fx.c1.id
    assert excluded["superseded_by"]["id"] == fx.c2.id
    listed = {f["id"] for f in body["flows"]}
    assert listed == {i for r in body["totals"] for c in r["cells"] for i in c["flow_ids"]}
    assert body["flow_count"] == len(listed)


def test_demo_funding_converted_figure_names_its_rate(client: TestClient, demo: Session) -> None:
    rates.import_rates(demo, (DATA / "ecb-sample.csv").read_text(), filename="ecb-sample.csv")
    demo.commit()
    body = client.get("/api/v1/funding?by=fiscal-year&convert_to=GBP&provider=UK Home Office")
    assert body.status_code == 200, body.text
    report = body.json()
    assert report["query"]["provider"]["name"] == "UK Home Office"
    [cell] = report["converted_total"]["cells"]
    assert cell["amount"] == "28106140.00"
    assert cell["approximate"] is True
    assert cell["rates"][0]["rate"] == "0.8951"
    assert cell["rates"][0]["rate_on"] == "2020-11-27"
    [flow] = report["flows"]
    assert flow["amount"] == "31400000.00"
    assert flow["currency"] == "EUR"
    assert flow["converted"]["amount"] == "28106140.00"
    assert flow["counted_in"]["label"] == "FY2020-21"
    assert flow["counted_by"] == "value date"
    assert flow["quoted_from"] == "flow" or flow["quoted_from"] == "commitment"


def test_funding_without_a_rate_gives_no_converted_figure(
    client: TestClient, demo: Session
) -> None:
    body = client.get("/api/v1/funding?convert_to=GBP").json()
    [cell] = body["converted_total"]["cells"]
    assert cell["amount"] is None
    assert cell["missing_rate_count"] == 1
    assert body["flows"][0]["converted"] is None


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("provider=999999", ("provider", "no actor 999999")),
        ("provider=Nobody", ("provider", "no actor is named")),
        ("stage=gift", ("stage",)),
        ("period=someday", ("period",)),
        ("period=FY2020-21", ("period", "fiscal year")),
        ("currency=XYZ", ("currency",)),
        ("convert_to=pounds", ("convert_to",)),
        ("by=decade", ("by",)),
        ("provider=" + "x" * 301, ("provider",)),
    ],
)
def test_funding_bad_parameters(
    client: TestClient, demo: Session, query: str, words: tuple[str, ...]
) -> None:
    _problem(client.get(f"/api/v1/funding?{query}"), 400, *words)


def test_funding_answers_whole_up_to_500_flows_and_pages_like_the_page(
    client: TestClient, fx: funding_fixture.Fixture
) -> None:
    query = f"provider={fx.uk.id}&by=fiscal-year"
    whole = client.get(f"/api/v1/funding?{query}").json()
    assert whole["limit"] == 500
    assert whole["page"] == {
        "first": 1,
        "last": 9,
        "total": 9,
        "size": 500,
        "next_url": None,
        "previous_url": None,
    }
    expected = [f["id"] for f in whole["flows"] + whole["excluded"]]
    assert len(expected) == 9
    url: str | None = f"/api/v1/funding?{query}&size=2"
    pages = []
    while url:
        assert f"provider={fx.uk.id}" in url
        assert "by=fiscal-year" in url
        body = client.get(url).json()
        pages.append(body)
        # The figures are every flow's, on every page.
        assert _api_figures(body) == _api_figures(whole)
        assert (body["flow_count"], body["excluded_count"]) == (8, 1)
        url = body["page"]["next_url"]
    assert [f["id"] for b in pages for f in b["flows"] + b["excluded"]] == expected
    assert [(b["page"]["first"], b["page"]["last"]) for b in pages] == [
        (1, 2),
        (3, 4),
        (5, 6),
        (7, 8),
        (9, 9),
    ]
    # The superseded flow comes last, after every counted one.
    assert pages[-1]["flows"] == []
    assert [f["id"] for f in pages[-1]["excluded"]] == [fx.flows["C1"].id]
    back = client.get(pages[-1]["page"]["previous_url"]).json()
    assert back["flows"] == pages[-2]["flows"]
    # A link cut from the HTML page works here too.
    html_page = client.get(f"/funding?{query}&size=2").text
    token = re.search(r'rel="next" href="[^"]*after=([^"&#]*)', html_page)
    assert token is not None
    body = client.get(f"/api/v1/funding?{query}&size=2&after={token[1]}").json()
    assert body["flows"] == pages[1]["flows"]


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("size=0", ("size",)),
        ("size=501", ("size",)),
        ("after=garbage", ("after", "page token is not valid")),
        ("before=garbage", ("before", "page token is not valid")),
        ("after=x&before=y", ("either after or before",)),
    ],
)
def test_funding_bad_paging(
    client: TestClient, fx: funding_fixture.Fixture, query: str, words: tuple[str, ...]
) -> None:
    _problem(client.get(f"/api/v1/funding?{query}"), 400, *words)


# ------------------------------------------------------------ totals


def test_totals_are_the_dashboards(client: TestClient, demo: Session) -> None:
    body = client.get("/api/v1/totals").json()
    assert body["totals"] == [
        {
            "currency": "EUR",
            "stage": "pledge",
            "amount": "31400000.00",
            "flow_count": 1,
            "qualifier": "exact",
            "approximate": False,
            "up_to_amount": "0.00",
            "approximately_amount": "0.00",
            "at_least_amount": "0.00",
        }
    ]
    service = totals.flow_totals(demo)
    assert [(t["currency"], t["stage"], Decimal(t["amount"])) for t in body["totals"]] == [
        (t.currency, t.stage.value, t.amount) for t in service
    ]
    published = demo.scalar(
        select(func.count()).select_from(Commitment).where(Commitment.state == "published")
    )
    assert sum(s["count"] for s in body["statuses"]) == published
    assert body["review_queue"]["never_reviewed"] > 0
    assert len(body["recent_changes"]) == 8
    page = client.get("/", headers={"accept": "text/html"}).text
    assert "€31.4 million" in page or "€31,400,000" in page


def test_totals_never_add_currencies_or_count_drafts(client: TestClient, demo: Session) -> None:
    pledge = demo.scalars(select(Commitment).where(Commitment.kind == "funding")).one()
    demo.add(
        MoneyFlow(
            commitment_id=pledge.id,
            stage=FlowStage.pledge,
            amount_minor=2_810_000_000,
            currency="GBP",
            qualifier="exact",
        )
    )
    draft = Commitment(kind="funding", title="Draft money", announced_on=dt.date(2021, 1, 1))
    demo.add(draft)
    demo.flush()
    demo.add(
        MoneyFlow(
            commitment_id=draft.id,
            stage=FlowStage.pledge,
            amount_minor=99_900_000_000,
            currency="EUR",
            qualifier="exact",
        )
    )
    demo.commit()
    body = client.get("/api/v1/totals").json()
    assert [(t["currency"], t["stage"], t["amount"]) for t in body["totals"]] == [
        ("EUR", "pledge", "31400000.00"),
        ("GBP", "pledge", "28100000.00"),
    ]


def test_report_endpoints_are_documented(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for path in (
        "/api/v1/reviews/due",
        "/api/v1/changes",
        "/api/v1/funding",
        "/api/v1/totals",
        "/api/v1/commitments/{record_id}/history",
    ):
        operation = spec["paths"][path]["get"]
        assert operation["description"], path
        assert "400" in operation["responses"], path
        for parameter in operation.get("parameters", []):
            assert parameter.get("description"), (path, parameter["name"])
    assert ReviewState.overdue.value in str(spec["paths"]["/api/v1/reviews/due"])


@pytest.mark.parametrize(
    "path",
    ["/api/v1/reviews/due", "/api/v1/changes", "/api/v1/funding", "/api/v1/totals"],
)
def test_a_bad_or_revoked_token_is_401_not_anonymous(
    client: TestClient, session: Session, clock: FixedClock, path: str
) -> None:
    headers = api_headers(session, clock, "read")
    assert client.get(path, headers=headers).status_code == 200
    record = session.scalars(select(ApiToken)).one()
    record.revoked_at = clock.now()
    session.commit()
    _problem(client.get(path, headers=headers), 401, "unknown, expired or revoked")
    _problem(client.get(path, headers={"Authorization": "Bearer pt_nope"}), 401)
