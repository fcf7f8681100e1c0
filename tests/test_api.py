"""The JSON API: exact money, problem details, token authentication."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clock import FixedClock
from app.models import Account, Commitment
from app.services import tokens
from app.vocab import TokenScope


def _pledge_id(session: Session) -> int:
    return session.scalars(select(Commitment.id).where(Commitment.kind == "funding")).one()


@pytest.fixture
def account(session: Session) -> Account:
    account = Account(email="editor@example.org", password_hash="x", role="editor")
    session.add(account)
    session.commit()
    return account


def _token(session: Session, account: Account, clock: FixedClock, scope: str) -> str:
    issued = tokens.create_token(session, account, name="t", scope=scope, now=clock.now())
    session.commit()
    return issued.token


def test_commitment_json_has_exact_money_and_its_wording(client: TestClient, demo: Session) -> None:
    response = client.get(f"/api/v1/commitments/{_pledge_id(demo)}")
    assert response.status_code == 200
    body = response.json()
    [flow] = body["money_flows"]
    assert flow["amount"] == "31400000.00"
    assert flow["currency"] == "EUR"
    assert flow["amount_text"] == "a further financial investment of €31.4 million"
    assert flow["provider"]["name"] == "UK Home Office"
    assert flow["citations"][0]["locator"] == "para 8"
    assert body["next_review_on"] == "2021-05-28"
    assert body["unsourced"] is False
    assert response.headers["etag"] == f'"{body["version"]}"'


def test_errors_are_problem_details(client: TestClient) -> None:
    missing = client.get("/api/v1/commitments/424242")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert missing.json() == {
        "type": "about:blank",
        "title": "Not found",
        "status": 404,
        "detail": "there is no published commitment 424242",
    }
    bad = client.get("/api/v1/commitments/" + "9" * 40)
    assert bad.status_code == 400
    assert bad.json()["title"] == "Bad request"


def test_drafts_need_a_write_token(
    client: TestClient, session: Session, account: Account, clock: FixedClock
) -> None:
    draft = Commitment(kind="action", title="Draft", announced_on=dt.date(2024, 1, 1))
    session.add(draft)
    session.commit()
    url = f"/api/v1/commitments/{draft.id}"
    assert client.get(url).status_code == 404
    read = _token(session, account, clock, "read")
    assert client.get(url, headers={"Authorization": f"Bearer {read}"}).status_code == 404
    write = _token(session, account, clock, "write")
    assert client.get(url, headers={"Authorization": f"Bearer {write}"}).status_code == 200


@pytest.mark.parametrize(
    "header", ["Bearer pt_nonsense", "Basic dXNlcjpwYXNz", "Bearer ", "Bearer " + "x" * 500]
)
def test_bad_credentials_get_401(client: TestClient, demo: Session, header: str) -> None:
    response = client.get(
        f"/api/v1/commitments/{_pledge_id(demo)}", headers={"Authorization": header}
    )
    assert response.status_code == 401
    assert response.json()["status"] == 401


def test_tokens_are_stored_hashed_expire_and_revoke(
    session: Session, account: Account, clock: FixedClock
) -> None:
    issued = tokens.create_token(
        session, account, name="script", scope=TokenScope.write, now=clock.now(), expires_in_days=1
    )
    assert issued.token.startswith("pt_")
    assert issued.token not in issued.record.token_hash
    assert issued.record.token_hash == tokens.hash_token(issued.token)
    caller = tokens.authenticate(session, issued.token, now=clock.now())
    assert caller is not None
    assert caller.can_write
    assert caller.token.last_used_at == clock.now()
    later = clock.now() + dt.timedelta(days=2)
    assert tokens.authenticate(session, issued.token, now=later) is None
    tokens.revoke_token(session, issued.record.id, account=account, now=clock.now())
    assert tokens.authenticate(session, issued.token, now=clock.now()) is None


def test_token_rules(session: Session, account: Account, clock: FixedClock) -> None:
    with pytest.raises(tokens.TokenError, match="unknown scope"):
        tokens.create_token(session, account, name="x", scope="admin", now=clock.now())
    with pytest.raises(tokens.TokenError, match="name"):
        tokens.create_token(session, account, name=" ", scope="read", now=clock.now())


def test_openapi_documents_the_commitment_endpoint(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    operation = spec["paths"]["/api/v1/commitments/{commitment_id}"]["get"]
    assert "exact amounts" in operation["description"]
    assert "404" in operation["responses"]


def test_the_api_reference_page_lists_every_operation_and_parameter(client: TestClient) -> None:
    """/docs is made from the OpenAPI description, without JavaScript or anything fetched."""
    spec = client.get("/openapi.json").json()
    page = client.get("/docs")
    assert page.status_code == 200
    assert "<script" not in page.text
    for path, operations in spec["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method, operation in operations.items():
            assert f"<code>{method.upper()} {path}</code>" in page.text
            for parameter in operation.get("parameters", []):
                assert f"<code>{parameter['name']}</code>" in page.text
    assert 'id="shape-CommitmentCreate"' in page.text
    assert "<code>makers</code>" in page.text


def test_the_api_explorer_is_served_from_this_server(client: TestClient) -> None:
    page = client.get("/docs/explorer")
    assert page.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources
    assert all(s.startswith("/static/swagger-ui/") for s in sources), sources
    for source in sources:
        assert client.get(source).status_code == 200, source


def test_malformed_multipart_form_is_refused_not_a_500(client: TestClient) -> None:
    """Found by Schemathesis: a multipart body without a boundary crashed the CSRF check."""
    response = client.post(
        "/login", content=b"email=&password=", headers={"Content-Type": "multipart/form-data"}
    )
    assert response.status_code == 403


def test_405_lists_every_method_the_path_takes(client: TestClient) -> None:
    """Found by Schemathesis: Starlette's Allow named only the first matching route's methods."""
    response = client.request("PATCH", "/login")
    assert response.status_code == 405
    assert set(response.headers["allow"].split(", ")) >= {"GET", "POST"}


def _auth(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


def test_list_uses_the_same_query_as_the_pages(client: TestClient, demo: Session) -> None:
    everything = client.get("/api/v1/commitments").json()
    assert everything["total"] == 11
    funding = client.get("/api/v1/commitments", params={"kind": "funding"}).json()
    assert funding["total"] == 1
    [item] = funding["items"]
    assert item["money"][0] == {
        "stage": "pledge",
        "amount": "31400000.00",
        "currency": "EUR",
        "qualifier": "exact",
        "amount_text": "a further financial investment of €31.4 million",
    }
    searched = client.get("/api/v1/commitments", params={"q": "intelligence cell"}).json()
    assert [i["title"] for i in searched["items"]] == [
        "Renewed focus on criminal smuggling networks through the joint intelligence cell"
    ]
    page = client.get("/api/v1/commitments", params={"size": 4}).json()
    assert len(page["items"]) == 4
    assert page["next"] is not None
    second = client.get(page["next"]).json()
    assert {i["id"] for i in second["items"]}.isdisjoint({i["id"] for i in page["items"]})


def test_overdue_review_filter_through_the_api(
    client: TestClient, demo: Session, clock: FixedClock
) -> None:
    clock.set(dt.date(2021, 6, 1))
    overdue = client.get("/api/v1/commitments", params={"review": "overdue"}).json()
    assert overdue["total"] == 2


@pytest.mark.parametrize(
    "params", [{"announced_from": "2021-02-30"}, {"after": "tampered"}, {"size": "1000"}]
)
def test_bad_list_parameters_are_400(
    client: TestClient, demo: Session, params: dict[str, str]
) -> None:
    response = client.get("/api/v1/commitments", params=params)
    assert response.status_code == 400
    assert response.json()["detail"]


def test_a_payment_and_a_review_through_the_api_are_in_the_history(
    client: TestClient, demo: Session, account: Account, clock: FixedClock
) -> None:
    from app.models import ChangeRecord, Source

    pledge_id = _pledge_id(demo)
    token = _token(demo, account, clock, "write")
    version = client.get(f"/api/v1/commitments/{pledge_id}").json()["version"]
    payment = client.post(
        f"/api/v1/commitments/{pledge_id}/money-flows",
        json={
            "stage": "disbursement",
            "amount": "28100000.00",
            "currency": "GBP",
            "value_on": "2021-01-10",
            "stated_equivalent_amount": "31400000.00",
            "stated_equivalent_currency": "EUR",
        },
        headers=_auth(token, **{"If-Match": f'"{version}"'}),
    )
    assert payment.status_code == 201, payment.text
    assert payment.json()["amount"] == "28100000.00"
    assert payment.json()["stated_equivalent"] == {"amount": "31400000.00", "currency": "EUR"}

    source_id = demo.scalars(select(Source.id)).one()
    review = client.post(
        f"/api/v1/commitments/{pledge_id}/reviews",
        json={
            "reviewed_on": "2021-01-15",
            "status_found": "partly_delivered",
            "evidence": [{"source_id": source_id, "quote": "The UK has pledged", "locator": "8"}],
        },
        headers=_auth(token),
    )
    assert review.status_code == 201, review.text
    assert client.get(f"/api/v1/commitments/{pledge_id}").json()["status"] == "partly_delivered"
    records = demo.scalars(
        select(ChangeRecord).where(ChangeRecord.account_id == account.id).order_by(ChangeRecord.id)
    ).all()
    assert [r.action for r in records] == ["create", "review"]
    assert all(r.is_public for r in records)
    history = client.get(f"/commitments/{pledge_id}/history").text
    assert "28100000" in history or "28,100,000" in history


def test_stale_if_match_is_412_and_changes_nothing(
    client: TestClient, demo: Session, account: Account, clock: FixedClock
) -> None:
    pledge_id = _pledge_id(demo)
    token = _token(demo, account, clock, "write")
    response = client.post(
        f"/api/v1/commitments/{pledge_id}/money-flows",
        json={"stage": "disbursement", "amount": "1.00", "currency": "GBP"},
        headers=_auth(token, **{"If-Match": '"999"'}),
    )
    assert response.status_code == 412
    assert len(client.get(f"/api/v1/commitments/{pledge_id}").json()["money_flows"]) == 1


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"stage": "disbursement", "amount": "1" * 40, "currency": "GBP"}, "amount"),
        ({"stage": "disbursement", "amount": "NaN", "currency": "GBP"}, "amount"),
        ({"stage": "disbursement", "amount": "1.234", "currency": "GBP"}, "decimal places"),
        ({"stage": "disbursement", "amount": "1", "currency": "XXY"}, "XXY"),
        ({"stage": "disbursement", "amount": "1", "currency": "GBP", "colour": "red"}, "colour"),
    ],
)
def test_hostile_payment_bodies_get_a_clear_4xx(
    client: TestClient,
    demo: Session,
    account: Account,
    clock: FixedClock,
    body: dict[str, str],
    fragment: str,
) -> None:
    token = _token(demo, account, clock, "write")
    response = client.post(
        f"/api/v1/commitments/{_pledge_id(demo)}/money-flows", json=body, headers=_auth(token)
    )
    assert response.status_code in (400, 422)
    assert fragment in response.text


def test_wrong_content_type_is_a_4xx(
    client: TestClient, demo: Session, account: Account, clock: FixedClock
) -> None:
    token = _token(demo, account, clock, "write")
    response = client.post(
        f"/api/v1/commitments/{_pledge_id(demo)}/money-flows",
        content=b"stage=disbursement",
        headers=_auth(token, **{"Content-Type": "text/plain"}),
    )
    assert 400 <= response.status_code < 500


def test_writes_need_a_write_token(
    client: TestClient, demo: Session, account: Account, clock: FixedClock
) -> None:
    url = f"/api/v1/commitments/{_pledge_id(demo)}/money-flows"
    body = {"stage": "disbursement", "amount": "1.00", "currency": "GBP"}
    assert client.post(url, json=body).status_code == 401
    read = _token(demo, account, clock, "read")
    assert client.post(url, json=body, headers=_auth(read)).status_code == 403


@pytest.mark.parametrize(
    "url",
    [
        "/changes?before=2147483648",
        "/changes?type=commitments&id=2147483648",
        "/reviews/due?actor=2147483648",
        "/reviews.ics?actor=9999999999",
        "/funding?provider=99999999999",
        "/funding?provider=%C2%B2",
        "/commitments?maker=%C2%B2",
        "/commitments?maker=2147483648",
        "/actors.csv?id=2147483648",
    ],
)
def test_out_of_range_and_odd_digit_ids_are_4xx_not_database_errors(
    client: TestClient, demo: Session, url: str
) -> None:
    """Found by the PostgreSQL fuzz run: ids past INTEGER's range reached the database."""
    response = client.get(url)
    assert response.status_code < 500, (url, response.status_code)


def test_sources_actors_and_indicators_as_json(client: TestClient, demo: Session) -> None:
    [source] = client.get("/api/v1/sources").json()
    assert source["publisher"] == "Home Office"
    assert source["published_on"] == "2020-11-28"
    detail = client.get(f"/api/v1/sources/{source['id']}").json()
    assert detail["source"]["citation_count"] == len(detail["quotes"]) > 20
    supports = {q["supports"] for q in detail["quotes"]}
    assert supports == {"commitment", "money_flow", "review", "observation"}

    actors = {a["name"]: a for a in client.get("/api/v1/actors").json()}
    home_office = client.get(f"/api/v1/actors/{actors['UK Home Office']['id']}").json()
    assert home_office["actor"]["fiscal_year_start_month"] == 4
    assert [
        {k: t[k] for k in ("currency", "stage", "amount", "flow_count", "qualifier")}
        for t in home_office["provided_totals"]
    ] == [
        {
            "currency": "EUR",
            "stage": "pledge",
            "amount": "31400000.00",
            "flow_count": 1,
            "qualifier": "exact",
        }
    ]

    from app.models import Indicator

    indicator_id = demo.scalars(
        select(Indicator.id).where(Indicator.name == "Intervention success rate")
    ).one()
    indicator = client.get(f"/api/v1/indicators/{indicator_id}").json()
    assert [(o["value"], o["value_text"]) for o in indicator["observations"]] == [
        ("41", "41% in 2019"),
        ("60", "60% in recent weeks"),
    ]
    assert indicator["observations"][0]["period"]["label"] == "2019"
    assert client.get("/api/v1/indicators/424242").status_code == 404


def test_commitment_json_lists_its_children_and_indicators(
    client: TestClient, demo: Session
) -> None:
    """What the commitment page shows beyond its own row: parts and measures."""
    from app.models import IndicatorCommitment

    parent_id = demo.scalars(
        select(Commitment.parent_id).where(Commitment.parent_id.is_not(None))
    ).first()
    parent = client.get(f"/api/v1/commitments/{parent_id}").json()
    children = demo.scalars(
        select(Commitment.id).where(Commitment.parent_id == parent_id).order_by(Commitment.id)
    ).all()
    assert [c["id"] for c in parent["children"]] == list(children)
    measured, indicator_id = demo.execute(
        select(IndicatorCommitment.commitment_id, IndicatorCommitment.indicator_id)
    ).first()
    body = client.get(f"/api/v1/commitments/{measured}").json()
    assert indicator_id in [i["id"] for i in body["indicators"]]


def test_indicators_and_exchange_rates_lists(client: TestClient, demo: Session) -> None:
    from app.models import ExchangeRate, Indicator

    indicators = client.get("/api/v1/indicators").json()
    names = demo.scalars(select(Indicator.name).order_by(Indicator.name)).all()
    assert [i["name"] for i in indicators] == list(names)
    assert all(i["observation_count"] >= 1 for i in indicators)

    demo.add_all(
        [
            ExchangeRate(
                rate_on=dt.date(2020, 11, 27),
                base_currency="EUR",
                quote_currency="GBP",
                rate=Decimal("0.8950"),
                source_name="ECB",
            ),
            ExchangeRate(
                rate_on=dt.date(2020, 11, 27),
                base_currency="USD",
                quote_currency="JPY",
                rate=Decimal("104.1"),
                source_name="ECB",
            ),
        ]
    )
    demo.commit()
    gbp = client.get("/api/v1/exchange-rates?currency=gbp").json()
    assert gbp["total"] == 1
    assert gbp["rates"][0]["rate"] == "0.895"
    assert gbp["next"] is None
    bad = client.get("/api/v1/exchange-rates?currency=XXZ")
    assert bad.status_code == 400
    assert bad.json()["detail"].startswith("currency:")
