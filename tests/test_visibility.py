"""Readers never see drafts or deleted records, however they are reached.

Drafts are never shown to readers (anonymous API callers, read tokens, and
people not signed in): not as records, and not as a title behind a link
from a published record, a quote on a source's page, an actor a report
names, or a change on the dashboard.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.clock import FixedClock
from app.models import (
    Actor,
    Citation,
    Commitment,
    Indicator,
    MoneyFlow,
    Observation,
    Review,
    Source,
)
from app.vocab import ActorKind, CommitmentKind, FlowStage, PublicationState
from tests.editing_helpers import HTML, api_headers, make_account, sign_in

PUBLISHED_AT = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
DELETED_AT = dt.datetime(2024, 2, 1, tzinfo=dt.UTC)


def _commitment(
    session: Session,
    title: str,
    *,
    published: bool = True,
    deleted: bool = False,
    **extra: object,
) -> Commitment:
    commitment = Commitment(
        kind=CommitmentKind.action,
        title=title,
        announced_on=dt.date(2020, 11, 28),
        state=PublicationState.published if published else PublicationState.draft,
        published_at=PUBLISHED_AT if published else None,
        deleted_at=DELETED_AT if deleted else None,
        **extra,
    )
    session.add(commitment)
    session.flush()
    return commitment


# ------------------------------------------------ 1. links to other commitments


@dataclass
class Links:
    public: Commitment
    draft_parent: Commitment
    deleted_top_up: Commitment
    draft_superseded: Commitment


@pytest.fixture
def links(session: Session) -> Links:
    draft_parent = _commitment(session, "Secret draft plan", published=False)
    deleted_top_up = _commitment(session, "Deleted earlier pledge", deleted=True)
    draft_superseded = _commitment(session, "Unannounced old pledge", published=False)
    public = _commitment(
        session,
        "Public measure",
        parent_id=draft_parent.id,
        tops_up_id=deleted_top_up.id,
        supersedes_id=draft_superseded.id,
    )
    session.commit()
    return Links(public, draft_parent, deleted_top_up, draft_superseded)


HIDDEN_TITLES = ("Secret draft plan", "Deleted earlier pledge", "Unannounced old pledge")


@pytest.mark.parametrize("scope", [None, "read"])
def test_api_readers_never_see_draft_or_deleted_links(
    client: TestClient, session: Session, clock: FixedClock, links: Links, scope: str | None
) -> None:
    headers = api_headers(session, clock, scope) if scope else {}
    response = client.get(f"/api/v1/commitments/{links.public.id}", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["parent"], body["tops_up"], body["supersedes"]) == (None, None, None)
    for title in HIDDEN_TITLES:
        assert title not in response.text


def test_api_write_tokens_see_draft_links_but_not_deleted_ones(
    client: TestClient, session: Session, clock: FixedClock, links: Links
) -> None:
    body = client.get(
        f"/api/v1/commitments/{links.public.id}", headers=api_headers(session, clock, "write")
    ).json()
    assert body["parent"]["title"] == "Secret draft plan"
    assert body["supersedes"]["title"] == "Unannounced old pledge"
    # Deleted records are hidden from editors too: the link would lead to a 404.
    assert body["tops_up"] is None


def test_page_readers_never_see_draft_or_deleted_links(client: TestClient, links: Links) -> None:
    page = client.get(f"/commitments/{links.public.id}", headers=HTML)
    assert page.status_code == 200
    assert "Public measure" in page.text
    for title in HIDDEN_TITLES:
        assert title not in page.text
    for linked in (links.draft_parent, links.deleted_top_up, links.draft_superseded):
        assert f'href="/commitments/{linked.id}"' not in page.text


def test_page_editors_see_draft_links(client: TestClient, session: Session, links: Links) -> None:
    assert sign_in(client, make_account(session, "ed@example.org")).status_code == 303
    page = client.get(f"/commitments/{links.public.id}", headers=HTML)
    assert "Secret draft plan" in page.text
    assert "Unannounced old pledge" in page.text
    assert "Deleted earlier pledge" not in page.text


def test_published_links_still_show(client: TestClient, session: Session) -> None:
    plan = _commitment(session, "Joint operational plan")
    measure = _commitment(session, "A measure", parent_id=plan.id, supersedes_id=plan.id)
    session.commit()
    body = client.get(f"/api/v1/commitments/{measure.id}").json()
    assert body["parent"]["title"] == "Joint operational plan"
    assert body["supersedes"]["title"] == "Joint operational plan"
    assert "Joint operational plan" in client.get(f"/commitments/{measure.id}", headers=HTML).text


# ------------------------------------------------ 2. quotes on a source's page


def _state(published: bool, deleted: bool = False) -> dict[str, object]:
    return {
        "state": PublicationState.published if published else PublicationState.draft,
        "published_at": PUBLISHED_AT if published else None,
        "deleted_at": DELETED_AT if deleted else None,
    }


def _indicator(session: Session, name: str, *, published: bool, deleted: bool = False) -> int:
    indicator = Indicator(name=name, unit="%", **_state(published, deleted))
    session.add(indicator)
    session.flush()
    observation = Observation(
        indicator_id=indicator.id,
        value=Decimal(41),
        period_precision="year",
        period_start_on=dt.date(2019, 1, 1),
        period_end_on=dt.date(2019, 12, 31),
    )
    session.add(observation)
    session.flush()
    return observation.id


@dataclass
class Quoted:
    source: Source
    hidden_actor: Actor


@pytest.fixture
def quoted(session: Session) -> Quoted:
    hidden_actor = Actor(name="Hidden ministry", kind=ActorKind.ministry, **_state(False))
    session.add(hidden_actor)
    session.flush()
    source = Source(
        title="Joint statement",
        kind="joint_statement",
        publisher_actor_id=hidden_actor.id,
        **_state(True),
    )
    session.add(source)
    session.flush()
    public = _commitment(session, "Public measure")
    draft = _commitment(session, "Draft money pledge", published=False)
    deleted = _commitment(session, "Deleted reviewed measure", deleted=True)
    flow = MoneyFlow(
        commitment_id=draft.id, stage=FlowStage.pledge, amount_minor=100, currency="EUR"
    )
    review = Review(
        commitment_id=deleted.id, reviewed_on=dt.date(2021, 1, 1), status_found="in_progress"
    )
    session.add_all([flow, review])
    session.flush()
    quotes = [
        Citation(source_id=source.id, quote="public quote", commitment_id=public.id),
        Citation(
            source_id=source.id,
            quote="draft indicator quote",
            observation_id=_indicator(session, "Secret indicator", published=False),
        ),
        Citation(
            source_id=source.id,
            quote="deleted indicator quote",
            observation_id=_indicator(session, "Deleted indicator", published=True, deleted=True),
        ),
        Citation(
            source_id=source.id,
            quote="public indicator quote",
            observation_id=_indicator(session, "Success rate", published=True),
        ),
        Citation(source_id=source.id, quote="draft flow quote", money_flow_id=flow.id),
        Citation(source_id=source.id, quote="deleted review quote", review_id=review.id),
    ]
    session.add_all(quotes)
    session.commit()
    return Quoted(source, hidden_actor)


SOURCE_SECRETS = (
    "Secret indicator",
    "draft indicator quote",
    "Deleted indicator",
    "deleted indicator quote",
    "Draft money pledge",
    "draft flow quote",
    "Deleted reviewed measure",
    "deleted review quote",
    "Hidden ministry",
)


@pytest.mark.parametrize("scope", [None, "read"])
def test_api_source_lists_only_quotes_of_visible_records(
    client: TestClient, session: Session, clock: FixedClock, quoted: Quoted, scope: str | None
) -> None:
    headers = api_headers(session, clock, scope) if scope else {}
    response = client.get(f"/api/v1/sources/{quoted.source.id}", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert sorted(q["quote"] for q in body["quotes"]) == ["public indicator quote", "public quote"]
    assert body["source"]["citation_count"] == 2
    for secret in SOURCE_SECRETS:
        assert secret not in response.text
    listed = client.get("/api/v1/sources", headers=headers).json()
    assert [s["citation_count"] for s in listed if s["id"] == quoted.source.id] == [2]


def test_api_write_tokens_see_quotes_of_drafts_not_deleted(
    client: TestClient, session: Session, clock: FixedClock, quoted: Quoted
) -> None:
    body = client.get(
        f"/api/v1/sources/{quoted.source.id}", headers=api_headers(session, clock, "write")
    ).json()
    assert sorted(q["quote"] for q in body["quotes"]) == [
        "draft flow quote",
        "draft indicator quote",
        "public indicator quote",
        "public quote",
    ]


def test_source_page_lists_only_quotes_of_visible_records(
    client: TestClient, quoted: Quoted
) -> None:
    page = client.get(f"/sources/{quoted.source.id}", headers=HTML)
    assert page.status_code == 200
    assert "public quote" in page.text
    assert "Success rate" in page.text
    assert "(2 quotes)" in page.text
    for secret in SOURCE_SECRETS:
        assert secret not in page.text
    listing = client.get("/sources", headers=HTML).text
    assert "Joint statement" in listing


# ------------------------------------------------ 3. actors named in the funding report


@dataclass
class Named:
    draft: Actor
    deleted: Actor
    public: Actor


@pytest.fixture
def named(session: Session) -> Named:
    draft = Actor(name="Secret agency", short_name="SA", kind=ActorKind.agency, **_state(False))
    deleted = Actor(name="Gone ministry", kind=ActorKind.ministry, **_state(True, deleted=True))
    public = Actor(name="Home Office", kind=ActorKind.ministry, **_state(True))
    # A draft whose short name is a published actor's name must not make it ambiguous.
    twin = Actor(
        name="Draft Home Office unit",
        short_name="Home Office",
        kind=ActorKind.ministry,
        **_state(False),
    )
    session.add_all([draft, deleted, public, twin])
    session.commit()
    return Named(draft, deleted, public)


def _refused(response: object, *secrets: str) -> None:
    assert response.status_code == 400, response.text  # type: ignore[attr-defined]
    for secret in secrets:
        assert secret not in response.text  # type: ignore[attr-defined]


@pytest.mark.parametrize("scope", [None, "read"])
def test_api_funding_readers_cannot_name_draft_or_deleted_actors(
    client: TestClient, session: Session, clock: FixedClock, named: Named, scope: str | None
) -> None:
    headers = api_headers(session, clock, scope) if scope else {}
    for param in ("provider", "receiver"):
        for value in (str(named.draft.id), str(named.deleted.id)):
            response = client.get(f"/api/v1/funding?{param}={value}", headers=headers)
            _refused(response, "Secret agency", "Gone ministry")
            assert response.json()["detail"] == f"{param}: there is no actor {value}"
        for value in ("Secret agency", "SA", "Gone ministry"):
            response = client.get(f"/api/v1/funding?{param}={value}", headers=headers)
            _refused(response)
            assert response.json()["detail"] == f"{param}: no actor is named {value!r}"
    # A draft actor's id is answered exactly like an id that does not exist.
    unknown = client.get("/api/v1/funding?provider=999999", headers=headers).json()["detail"]
    draft = client.get(f"/api/v1/funding?provider={named.draft.id}", headers=headers)
    assert draft.json()["detail"] == unknown.replace("999999", str(named.draft.id))
    ok = client.get("/api/v1/funding?provider=Home Office", headers=headers)
    assert ok.status_code == 200, ok.text
    assert ok.json()["query"]["provider"]["id"] == named.public.id


def test_api_funding_write_tokens_may_name_draft_actors(
    client: TestClient, session: Session, clock: FixedClock, named: Named
) -> None:
    headers = api_headers(session, clock, "write")
    response = client.get(f"/api/v1/funding?provider={named.draft.id}", headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["query"]["provider"]["name"] == "Secret agency"
    _refused(client.get(f"/api/v1/funding?provider={named.deleted.id}", headers=headers))


def test_funding_page_and_csv_readers_cannot_name_draft_actors(
    client: TestClient, session: Session, named: Named
) -> None:
    for path in ("/funding", "/funding.csv"):
        _refused(client.get(f"{path}?receiver={named.draft.id}", headers=HTML), "Secret agency")
        _refused(client.get(f"{path}?receiver=SA", headers=HTML), "Secret agency")
    assert client.get("/funding?receiver=Home Office", headers=HTML).status_code == 200
    assert sign_in(client, make_account(session, "ed@example.org")).status_code == 303
    page = client.get(f"/funding?receiver={named.draft.id}", headers=HTML)
    assert page.status_code == 200
    assert client.get(f"/funding.csv?receiver={named.draft.id}").status_code == 200


# ------------------------------------------------ 4. latest changes on the dashboard


def test_latest_changes_drop_a_commitment_withdrawn_to_draft(
    client: TestClient, session: Session, clock: FixedClock
) -> None:
    from app.services import editing

    account = make_account(session, "ed@example.org")
    kept = Commitment(kind="action", title="Kept measure", announced_on=dt.date(2021, 1, 1))
    gone = Commitment(kind="action", title="Withdrawn measure", announced_on=dt.date(2021, 1, 1))
    for commitment in (kept, gone):
        editing.create(session, commitment, account_id=account.id)
        editing.publish(
            session,
            commitment,
            account_id=account.id,
            now=clock.now(),
            form_version=commitment.version,
        )
    session.commit()
    summaries = [c["summary"] for c in client.get("/api/v1/totals").json()["recent_changes"]]
    assert any("Withdrawn measure" in s for s in summaries)

    editing.unpublish(session, gone, account_id=account.id, form_version=gone.version)
    session.commit()
    summaries = [c["summary"] for c in client.get("/api/v1/totals").json()["recent_changes"]]
    assert any("Kept measure" in s for s in summaries)
    assert not any("Withdrawn measure" in s for s in summaries)
    listed = [c["summary"] for c in client.get("/api/v1/changes").json()["items"]]
    assert summaries == listed[: len(summaries)]
    dashboard = client.get("/", headers=HTML).text
    assert "Kept measure" in dashboard
    assert "Withdrawn measure" not in dashboard


# ------------------------------------------------ 5. superseded pledges in the totals


def _totals(rows: list[dict[str, object]]) -> dict[tuple[object, object], object]:
    return {(t["currency"], t["stage"]): t["amount"] for t in rows}


def test_dashboard_and_actor_totals_leave_out_superseded_promises(
    client: TestClient, session: Session
) -> None:
    from app.services import funding, totals
    from tests import funding_fixture

    fx = funding_fixture.build(session)
    # A draft that claims to supersede B replaces nothing: B still counts.
    session.add(
        Commitment(
            kind=CommitmentKind.funding,
            title="Draft re-announcement",
            announced_on=dt.date(2022, 1, 1),
            supersedes_id=fx.b.id,
        )
    )
    session.commit()
    expected = {
        # B 10m + C2 25m + C3 5m; C1's 20m pledge was superseded by C2.
        ("EUR", "pledge"): "40000000.00",
        # C1's payment stays counted: a payment does not un-happen.
        ("EUR", "disbursement"): "4000000.00",
        ("GBP", "pledge"): "476000000.00",
        ("GBP", "disbursement"): "60000000.00",
        ("USD", "commitment"): "3000000.00",
    }
    assert _totals(client.get("/api/v1/totals").json()["totals"]) == expected

    # The same figures as the funding report's all-years totals.
    report = funding.funding_report(session, funding.FundingQuery())
    service = {(t.currency, t.stage.value): t.amount for t in totals.flow_totals(session)}
    for row in report.totals:
        for stage, cell in row.cells.items():
            if cell.flows:
                assert service[(row.currency, stage.value)] == cell.amount

    # The UK government's page counts its Home Office too, as /funding?provider= does.
    uk = client.get(f"/api/v1/actors/{fx.uk.id}").json()
    assert _totals(uk["provided_totals"]) == {
        ("EUR", "pledge"): "40000000.00",
        ("EUR", "disbursement"): "4000000.00",
        ("GBP", "pledge"): "476000000.00",
        ("GBP", "disbursement"): "60000000.00",
    }
    assert [a["id"] for a in uk["includes"]] == [fx.home_office.id]

    # A status of superseded, without a successor, also takes its promises out.
    fx.e.status = "superseded"
    session.commit()
    assert ("USD", "commitment") not in _totals(client.get("/api/v1/totals").json()["totals"])
    ngo = client.get(f"/api/v1/actors/{fx.ngo.id}").json()
    assert ngo["received_totals"] == []


def test_dashboard_says_superseded_pledges_are_left_out(client: TestClient, demo: Session) -> None:
    page = client.get("/", headers=HTML).text
    assert "superseded" in page
    assert 'href="/funding"' in page.split('id="totals-h"')[1].split("</section>")[0]


# ------------------------------------------------ 6. unsourced: the commitment or its money


@pytest.fixture
def sourcing(session: Session) -> dict[str, Commitment]:
    source = Source(title="Joint statement", kind="joint_statement", **_state(True))
    session.add(source)
    session.flush()
    made = {
        name: _commitment(session, title)
        for name, title in (
            ("own", "Quoted itself"),
            ("flow", "Quoted through its money"),
            ("bare", "Quoted nowhere"),
            ("evidence", "Quoted only as review evidence"),
        )
    }
    flows = {
        name: MoneyFlow(
            commitment_id=c.id, stage=FlowStage.pledge, amount_minor=100, currency="EUR"
        )
        for name, c in made.items()
    }
    review = Review(
        commitment_id=made["evidence"].id,
        reviewed_on=dt.date(2021, 1, 1),
        status_found="in_progress",
    )
    session.add_all([*flows.values(), review])
    session.flush()
    session.add_all(
        [
            Citation(source_id=source.id, quote="it", commitment_id=made["own"].id),
            Citation(source_id=source.id, quote="a further €5", money_flow_id=flows["flow"].id),
            Citation(source_id=source.id, quote="under way", review_id=review.id),
        ]
    )
    session.commit()
    return made


UNSOURCED = {"bare", "evidence"}


def test_unsourced_means_no_quote_on_the_commitment_or_its_money(
    client: TestClient, sourcing: dict[str, Commitment]
) -> None:
    by_id = {c.id: name for name, c in sourcing.items()}
    for name, c in sourcing.items():
        body = client.get(f"/api/v1/commitments/{c.id}").json()
        assert body["unsourced"] is (name in UNSOURCED), name
        page = client.get(f"/commitments/{c.id}", headers=HTML).text
        assert ('class="unsourced"' in page) is (name in UNSOURCED), name

    listed = client.get("/api/v1/commitments").json()["items"]
    assert {by_id[i["id"]] for i in listed if i["unsourced"]} == UNSOURCED
    filtered = client.get("/api/v1/commitments?unsourced=1").json()["items"]
    assert {by_id[i["id"]] for i in filtered} == UNSOURCED

    html = client.get("/commitments?unsourced=1", headers=HTML).text
    assert "Quoted nowhere" in html
    assert "Quoted through its money" not in html
    full = client.get("/commitments", headers=HTML).text
    row = full.split("Quoted through its money")[1].split("</tr>")[0]
    assert "unsourced" not in row

    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(client.get("/commitments.csv").text.lstrip("\ufeff"))))
    flags = {by_id[int(r["id"])]: r["unsourced"] for r in rows}
    assert flags == {name: str(name in UNSOURCED).lower() for name in sourcing}
    money_quoted = next(r for r in rows if int(r["id"]) == sourcing["flow"].id)
    assert money_quoted["sources"] == "Joint statement"


# ------------------------------------------------ found on the way: quotes in the change feeds


def test_changes_to_quotes_of_flows_and_observations_follow_their_owner(
    client: TestClient, session: Session, clock: FixedClock
) -> None:
    from app.services import editing

    account = make_account(session, "ed@example.org")
    source = Source(title="Joint statement", kind="joint_statement", **_state(True))
    pledge = _commitment(session, "Pledge later withdrawn")
    flow = MoneyFlow(
        commitment_id=pledge.id, stage=FlowStage.pledge, amount_minor=1, currency="EUR"
    )
    session.add_all([source, flow])
    session.flush()
    indicator_observation = _indicator(session, "Rate later withdrawn", published=True)
    for quote in (
        Citation(source_id=source.id, quote="q1", money_flow_id=flow.id),
        Citation(source_id=source.id, quote="q2", observation_id=indicator_observation),
    ):
        editing.create(
            session, quote, account_id=account.id, public=True, summary=f"Quoted {quote.quote}"
        )
    session.commit()

    def summaries() -> set[str]:
        return {c["summary"] for c in client.get("/api/v1/changes").json()["items"]}

    assert {"Quoted q1", "Quoted q2"} <= summaries()
    editing.unpublish(session, pledge, account_id=account.id, form_version=pledge.version)
    indicator = session.get(Indicator, session.get(Observation, indicator_observation).indicator_id)
    assert indicator is not None
    editing.unpublish(session, indicator, account_id=account.id, form_version=indicator.version)
    session.commit()
    assert not {"Quoted q1", "Quoted q2"} & summaries()
    assert "Quoted q1" not in client.get("/changes", headers=HTML).text
    assert "Quoted q2" not in client.get("/changes.atom").text


def test_readers_never_get_the_id_of_a_draft_parent_or_publisher(
    client: TestClient, session: Session, clock: FixedClock
) -> None:
    """Not even an id: /api/v1/actors and /api/v1/sources leave draft links out."""
    draft = Actor(name="Secret parent", kind="agency", state=PublicationState.draft)
    session.add(draft)
    session.flush()
    child = Actor(
        name="Visible child", kind="agency", parent_id=draft.id, state=PublicationState.published
    )
    source = Source(
        title="Visible source",
        kind="report",
        publisher_actor_id=draft.id,
        state=PublicationState.published,
    )
    session.add_all([child, source])
    session.commit()
    [listed] = [a for a in client.get("/api/v1/actors").json() if a["id"] == child.id]
    assert listed["parent_id"] is None
    assert client.get(f"/api/v1/actors/{child.id}").json()["actor"]["parent_id"] is None
    assert "Secret parent" not in client.get(f"/actors/{child.id}").text
    [shown] = [s for s in client.get("/api/v1/sources").json() if s["id"] == source.id]
    assert shown["publisher_actor_id"] is None
    writer = api_headers(session, clock, "write")
    [seen] = [a for a in client.get("/api/v1/actors", headers=writer).json() if a["id"] == child.id]
    assert seen["parent_id"] == draft.id
