"""API writes of actors, sources, commitments and indicators: the forms' rules, via JSON."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.clock import FixedClock
from app.models import Account, Actor, ChangeRecord, Commitment
from tests.editing_helpers import bearer, make_account, post, sign_in


@pytest.fixture
def writer(session: Session) -> Account:
    """An editor who writes through the API (not signed in on the client)."""
    return make_account(session, "editor@example.org")


@pytest.fixture
def auth(session: Session, writer: Account, clock: FixedClock) -> dict:
    return bearer(session, writer, clock)


@pytest.fixture
def admin_auth(session: Session, clock: FixedClock) -> dict:
    return bearer(session, make_account(session, "admin@example.org", role="admin"), clock)


def _home_office(session: Session) -> int:
    return session.scalars(select(Actor.id).where(Actor.name == "UK Home Office")).one()


def _new_commitment(session: Session, **extra: Any) -> dict:
    return {
        "title": "More patrols on the northern beaches",
        "kind": "action",
        "makers": [_home_office(session)],
        "announced": "2021-03",
        "deadline": "2021",
        "tags": ["patrols", "beaches"],
        **extra,
    }


def _changes(session: Session, entity_type: str, entity_id: int) -> list[ChangeRecord]:
    session.expire_all()
    return list(
        session.scalars(
            select(ChangeRecord)
            .where(ChangeRecord.entity_type == entity_type, ChangeRecord.entity_id == entity_id)
            .order_by(ChangeRecord.id)
        )
    )


def test_create_makes_a_draft_with_its_etag_location_and_history(
    client: TestClient, demo: Session, auth: dict, writer: Account
) -> None:
    response = client.post("/api/v1/commitments", json=_new_commitment(demo), headers=auth)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["state"] == "draft"
    assert body["title"] == "More patrols on the northern beaches"
    assert body["announced_on"] == "2021-03-01"
    assert body["announced_precision"] == "month"
    assert body["deadline"]["end"] == "2021-12-31"
    assert [m["name"] for m in body["makers"]] == ["UK Home Office"]
    assert sorted(body["tags"]) == ["beaches", "patrols"]
    assert response.headers["location"] == f"/api/v1/commitments/{body['id']}"
    assert response.headers["etag"] == f'"{body["version"]}"'
    [created] = _changes(demo, "commitments", body["id"])
    assert created.action == "create"
    assert created.account_id == writer.id
    assert created.is_public is False  # a draft's history is not shown to readers
    # Readers do not see the draft.
    assert client.get(f"/api/v1/commitments/{body['id']}").status_code == 404


def test_an_api_write_is_recorded_exactly_like_the_same_form_write(
    client: TestClient, demo: Session, auth: dict, writer: Account
) -> None:
    """Same fields through the form and through the API: the same change record."""
    maker = _home_office(demo)
    by_api = client.post(
        "/api/v1/commitments", json=_new_commitment(demo, tags=["patrols"]), headers=auth
    ).json()["id"]
    sign_in(client, writer)
    form = post(
        client,
        "/edit/commitments/new",
        {
            "title": "More patrols on the northern beaches",
            "kind": "action",
            "makers": str(maker),
            "announced": "2021-03",
            "deadline": "2021",
            "tags": "patrols",
        },
    )
    assert form.status_code == 303
    by_form = int(form.headers["location"].split("/")[2])
    [api_change] = _changes(demo, "commitments", by_api)
    [form_change] = _changes(demo, "commitments", by_form)

    def comparable(change: ChangeRecord) -> tuple:
        after = {k: v for k, v in (change.after or {}).items() if k not in ("id", "created_at")}
        return change.action, change.summary, change.account_id, change.is_public, after

    assert comparable(api_change) == comparable(form_change)


def test_patch_changes_only_the_named_fields_and_needs_if_match(
    client: TestClient, demo: Session, auth: dict
) -> None:
    created = client.post("/api/v1/commitments", json=_new_commitment(demo), headers=auth)
    url = f"/api/v1/commitments/{created.json()['id']}"
    etag = created.headers["etag"]

    missing = client.patch(url, json={"title": "Renamed"}, headers=auth)
    assert missing.status_code == 428
    assert "If-Match" in missing.json()["detail"]

    changed = client.patch(url, json={"title": "Renamed"}, headers={**auth, "If-Match": etag})
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["title"] == "Renamed"
    assert sorted(body["tags"]) == ["beaches", "patrols"]  # untouched
    assert body["deadline"]["end"] == "2021-12-31"
    assert changed.headers["etag"] != etag
    update = _changes(demo, "commitments", body["id"])[-1]
    assert update.action == "update"
    assert update.before["title"] == "More patrols on the northern beaches"
    assert update.after["title"] == "Renamed"

    # The first ETag is stale now: refused, and nothing is written.
    stale = client.patch(url, json={"title": "Lost update"}, headers={**auth, "If-Match": etag})
    assert stale.status_code == 412
    assert stale.headers["content-type"].startswith("application/problem+json")
    assert client.get(url, headers=auth).json()["title"] == "Renamed"

    cleared = client.patch(
        url,
        json={"deadline": None, "tags": []},
        headers={**auth, "If-Match": changed.headers["etag"]},
    )
    assert cleared.status_code == 200
    assert cleared.json()["deadline"] is None
    assert cleared.json()["tags"] == []


def test_the_forms_checks_apply_and_a_refusal_writes_nothing(
    client: TestClient, demo: Session, auth: dict
) -> None:
    before = demo.scalar(select(func.count()).select_from(ChangeRecord))
    bad = client.post(
        "/api/v1/commitments",
        json=_new_commitment(demo, announced="2021-13", makers=[999_999]),
        headers=auth,
    )
    assert bad.status_code == 422
    detail = bad.json()["detail"]
    assert "announced:" in detail
    assert "makers: there is no actor 999999" in detail
    created = client.post("/api/v1/commitments", json=_new_commitment(demo), headers=auth)
    url = f"/api/v1/commitments/{created.json()['id']}"
    cleared = client.patch(
        url, json={"title": None}, headers={**auth, "If-Match": created.headers["etag"]}
    )
    assert cleared.status_code == 422
    assert cleared.json()["detail"] == "title: Title is required"
    itself = client.patch(
        url,
        json={"parent_id": created.json()["id"]},
        headers={**auth, "If-Match": created.headers["etag"]},
    )
    assert itself.status_code == 422
    assert "cannot point at itself" in itself.json()["detail"]
    after = demo.scalar(select(func.count()).select_from(ChangeRecord))
    assert after == before + 1  # only the one good create


@pytest.mark.parametrize(
    "body",
    [
        {"title": "x", "kind": "action", "announced": "2021", "makers": [1], "colour": "red"},
        {"title": "x", "kind": "wish", "announced": "2021", "makers": [1]},
        {"title": "x\x00y", "kind": "action", "announced": "2021", "makers": [1]},
        {"title": "x" * 501, "kind": "action", "announced": "2021", "makers": [1]},
        {"title": "x", "kind": "action", "announced": "2021", "makers": [2**40]},
        {"title": "x", "kind": "action", "announced": "2021", "makers": [1], "tags": ["a,b"]},
        {"kind": "action", "announced": "2021", "makers": [1]},
    ],
    ids=["unknown-field", "bad-kind", "nul", "too-long", "huge-id", "comma-tag", "no-title"],
)
def test_malformed_bodies_are_refused_with_a_reason(
    client: TestClient, demo: Session, auth: dict, body: dict
) -> None:
    response = client.post("/api/v1/commitments", json=body, headers=auth)
    assert response.status_code == 400, response.text
    assert response.json()["detail"]
    assert (
        demo.scalar(select(func.count()).select_from(Commitment).where(Commitment.title == "x"))
        == 0
    )


def test_writes_need_a_write_token(
    client: TestClient, demo: Session, writer: Account, clock: FixedClock
) -> None:
    body = _new_commitment(demo)
    assert client.post("/api/v1/commitments", json=body).status_code == 401
    read = bearer(demo, writer, clock, scope="read")
    assert client.post("/api/v1/commitments", json=body, headers=read).status_code == 403


def test_actor_source_and_indicator_round_trip(
    client: TestClient, demo: Session, auth: dict
) -> None:
    actor = client.post(
        "/api/v1/actors",
        json={
            "name": "Border Force",
            "kind": "agency",
            "country_code": "gb",
            "fiscal_year_start_month": 4,
            "parent_id": _home_office(demo),
        },
        headers=auth,
    )
    assert actor.status_code == 201, actor.text
    assert actor.json()["actor"]["country_code"] == "GB"
    assert actor.json()["actor"]["fiscal_year_start_month"] == 4
    assert actor.json()["actor"]["state"] == "draft"
    actor_id = actor.json()["actor"]["id"]

    source = client.post(
        "/api/v1/sources",
        json={
            "title": "Annual report",
            "kind": "report",
            "url": "https://example.org/r",
            "publisher_actor_id": actor_id,
            "published_on": "2022-07-01",
        },
        headers=auth,
    )
    assert source.status_code == 201, source.text
    assert source.json()["source"]["publisher_actor_id"] == actor_id
    bad_url = client.patch(
        f"/api/v1/sources/{source.json()['source']['id']}",
        json={"url": "ftp://example.org"},
        headers={**auth, "If-Match": source.headers["etag"]},
    )
    assert bad_url.status_code == 422
    assert "http://" in bad_url.json()["detail"]

    pledge = demo.scalars(select(Commitment.id).where(Commitment.kind == "funding")).one()
    indicator = client.post(
        "/api/v1/indicators",
        json={"name": "Crossings prevented", "unit": "people", "commitment_ids": [pledge]},
        headers=auth,
    )
    assert indicator.status_code == 201, indicator.text
    assert [c["id"] for c in indicator.json()["commitments"]] == [pledge]
    assert indicator.json()["state"] == "draft"
    # Publishing makes it readable anonymously.
    url = f"/api/v1/indicators/{indicator.json()['id']}"
    assert client.get(url).status_code == 404
    published = client.post(url + "/publish", headers=auth)
    assert published.status_code == 200
    assert published.json()["state"] == "published"
    assert client.get(url).status_code == 200


def test_publishing_a_commitment_publishes_the_draft_actors_it_names(
    client: TestClient, demo: Session, auth: dict
) -> None:
    actor = client.post(
        "/api/v1/actors", json={"name": "Coastguard", "kind": "agency"}, headers=auth
    ).json()["actor"]
    created = client.post(
        "/api/v1/commitments", json=_new_commitment(demo, makers=[actor["id"]]), headers=auth
    ).json()
    stale = client.post(
        f"/api/v1/commitments/{created['id']}/publish", headers={**auth, "If-Match": '"999"'}
    )
    assert stale.status_code == 412
    published = client.post(f"/api/v1/commitments/{created['id']}/publish", headers=auth)
    assert published.status_code == 200
    assert published.json()["state"] == "published"
    assert client.get(f"/api/v1/actors/{actor['id']}").status_code == 200
    withdrawn = client.post(f"/api/v1/commitments/{created['id']}/unpublish", headers=auth)
    assert withdrawn.json()["state"] == "draft"
    assert client.get(f"/api/v1/commitments/{created['id']}").status_code == 404


def test_only_administrators_delete_and_restore(
    client: TestClient, demo: Session, auth: dict, admin_auth: dict
) -> None:
    created = client.post("/api/v1/commitments", json=_new_commitment(demo), headers=auth)
    url = f"/api/v1/commitments/{created.json()['id']}"
    etag = created.headers["etag"]
    assert client.delete(url, headers={**auth, "If-Match": etag}).status_code == 403
    assert client.delete(url, headers=admin_auth).status_code == 428
    assert client.delete(url, headers={**admin_auth, "If-Match": '"0"'}).status_code == 412
    gone = client.delete(url, headers={**admin_auth, "If-Match": etag})
    assert gone.status_code == 204
    assert gone.content == b""
    assert client.get(url, headers=auth).status_code == 404
    assert (
        client.patch(url, json={"title": "y"}, headers={**auth, "If-Match": "*"}).status_code == 404
    )
    assert client.post(url + "/restore", headers=auth).status_code == 403
    back = client.post(url + "/restore", headers=admin_auth)
    assert back.status_code == 200
    assert client.get(url, headers=auth).status_code == 200
    actions = [c.action for c in _changes(demo, "commitments", created.json()["id"])]
    assert actions == ["create", "delete", "restore"]


def test_sources_and_actors_carry_an_etag_for_if_match(client: TestClient, demo: Session) -> None:
    actor = client.get(f"/api/v1/actors/{_home_office(demo)}")
    assert actor.headers["etag"] == f'"{actor.json()["actor"]["version"]}"'
    assert actor.json()["actor"]["state"] == "published"


def test_quotes_are_added_with_the_quote_forms_checks_and_removed_by_admins(
    client: TestClient, demo: Session, auth: dict, admin_auth: dict
) -> None:
    pledge = demo.scalars(select(Commitment).where(Commitment.kind == "funding")).one()
    [flow] = client.get(f"/api/v1/commitments/{pledge.id}").json()["money_flows"]
    source_id = client.get("/api/v1/sources").json()[0]["id"]
    url = f"/api/v1/commitments/{pledge.id}/citations"
    quote = {"quote": "£28.1 million", "locator": "para 8", "source_id": source_id}
    added = client.post(url, json={**quote, "money_flow_id": flow["id"]}, headers=auth)
    assert added.status_code == 201, added.text
    assert added.json()["source"]["id"] == source_id
    detail = client.get(f"/api/v1/commitments/{pledge.id}").json()
    [on_flow] = [c for c in detail["money_flows"][0]["citations"] if c["id"] == added.json()["id"]]
    assert on_flow["quote"] == "£28.1 million"

    wrong_flow = client.post(url, json={**quote, "money_flow_id": 999_999}, headers=auth)
    assert wrong_flow.status_code == 422
    assert "has no money flow 999999" in wrong_flow.json()["detail"]
    no_source = client.post(url, json={**quote, "source_id": 999_999}, headers=auth)
    assert no_source.status_code == 422
    assert "there is no source 999999" in no_source.json()["detail"]

    citation_url = f"/api/v1/citations/{added.json()['id']}"
    assert client.delete(citation_url, headers=auth).status_code == 403
    assert client.delete(citation_url, headers=admin_auth).status_code == 204
    assert client.delete(citation_url, headers=admin_auth).status_code == 404
    [removed] = [c for c in _changes(demo, "citations", added.json()["id"]) if c.action == "delete"]
    assert removed.before["quote"] == "£28.1 million"


def test_a_money_flow_entered_by_mistake_is_removed_by_an_admin(
    client: TestClient, demo: Session, auth: dict, admin_auth: dict
) -> None:
    pledge = demo.scalars(select(Commitment.id).where(Commitment.kind == "funding")).one()
    added = client.post(
        f"/api/v1/commitments/{pledge}/money-flows",
        json={"stage": "disbursement", "amount": "1.00", "currency": "GBP"},
        headers=auth,
    )
    assert added.status_code == 201, added.text
    flow_url = f"/api/v1/money-flows/{added.json()['id']}"
    assert client.delete(flow_url, headers=auth).status_code == 403
    assert client.delete(flow_url, headers=admin_auth).status_code == 204
    flows = client.get(f"/api/v1/commitments/{pledge}").json()["money_flows"]
    assert added.json()["id"] not in [f["id"] for f in flows]
    assert client.delete(flow_url, headers=admin_auth).status_code == 404


def test_observations_are_added_with_their_quote_and_checked_like_the_form(
    client: TestClient, demo: Session, auth: dict, admin_auth: dict
) -> None:
    indicator = client.get("/api/v1/indicators").json()[0]
    source_id = client.get("/api/v1/sources").json()[0]["id"]
    url = f"/api/v1/indicators/{indicator['id']}/observations"
    body = {
        "value": "41.5",
        "qualifier": "approximately",
        "value_text": "around 41.5",
        "period": "2021",
        "source_id": source_id,
        "quote": "around 41.5 per cent",
    }
    added = client.post(url, json=body, headers=auth)
    assert added.status_code == 201, added.text
    assert added.json()["value"] == "41.5"
    assert added.json()["period"]["end"] == "2021-12-31"
    assert added.json()["citations"][0]["quote"] == "around 41.5 per cent"
    shown = client.get(f"/api/v1/indicators/{indicator['id']}").json()["observations"]
    assert added.json()["id"] in [o["id"] for o in shown]

    no_source = client.post(url, json={**body, "source_id": None}, headers=auth)
    assert no_source.status_code == 422
    assert "a quote needs its source" in no_source.json()["detail"]
    too_precise = client.post(url, json={**body, "value": "1.1234567"}, headers=auth)
    assert too_precise.status_code == 400  # the schema's pattern: at most six decimals
    bad_period = client.post(url, json={**body, "period": "sometime"}, headers=auth)
    assert bad_period.status_code == 422
    assert bad_period.json()["detail"].startswith("period:")

    observation_url = f"/api/v1/observations/{added.json()['id']}"
    assert client.delete(observation_url, headers=auth).status_code == 403
    assert client.delete(observation_url, headers=admin_auth).status_code == 204
    assert client.delete(observation_url, headers=admin_auth).status_code == 404


def test_a_money_flow_is_corrected_with_if_match_and_read_like_the_money_form(
    client: TestClient, demo: Session, auth: dict
) -> None:
    pledge = demo.scalars(select(Commitment.id).where(Commitment.kind == "funding")).one()
    home_office = _home_office(demo)
    added = client.post(
        f"/api/v1/commitments/{pledge}/money-flows",
        json={
            "stage": "disbursement",
            "amount": "1000000.00",
            "currency": "GBP",
            "provider_id": home_office,
            "period": "2021-22",  # the Home Office's financial year (April to March)
            "notes": "first tranche",
        },
        headers=auth,
    )
    assert added.status_code == 201, added.text
    flow = added.json()
    assert flow["period"]["start"] == "2021-04-01"
    assert flow["period"]["end"] == "2022-03-31"
    assert flow["notes"] == "first tranche"
    url = f"/api/v1/money-flows/{flow['id']}"

    assert client.patch(url, json={"amount": "2.00"}, headers=auth).status_code == 428
    corrected = client.patch(
        url, json={"amount": "1250000.00"}, headers={**auth, "If-Match": f'"{flow["version"]}"'}
    )
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["amount"] == "1250000.00"
    assert corrected.json()["period"]["end"] == "2022-03-31"  # kept
    assert corrected.json()["notes"] == "first tranche"
    stale = client.patch(
        url, json={"amount": "3.00"}, headers={**auth, "If-Match": f'"{flow["version"]}"'}
    )
    assert stale.status_code == 412
    too_precise = client.patch(
        url, json={"amount": "1.001"}, headers={**auth, "If-Match": corrected.headers["etag"]}
    )
    assert too_precise.status_code == 422
    assert too_precise.json()["detail"].startswith("amount:")
    update = _changes(demo, "money_flows", flow["id"])[-1]
    assert update.action == "update"
    assert update.after["amount_minor"] == 125_000_000


def test_changing_only_the_links_raises_the_version_so_a_stale_edit_is_refused(
    client: TestClient, demo: Session, auth: dict
) -> None:
    """Tags and makers live in link tables; the record's version must still move."""
    created = client.post("/api/v1/commitments", json=_new_commitment(demo), headers=auth)
    url = f"/api/v1/commitments/{created.json()['id']}"
    first = created.headers["etag"]
    retagged = client.patch(url, json={"tags": ["a", "b"]}, headers={**auth, "If-Match": first})
    assert retagged.status_code == 200
    assert retagged.headers["etag"] != first
    stale = client.patch(url, json={"tags": ["a"]}, headers={**auth, "If-Match": first})
    assert stale.status_code == 412
    assert sorted(client.get(url, headers=auth).json()["tags"]) == ["a", "b"]


@pytest.mark.parametrize("announced", ["9999", "9999-12", "9999-Q4"])
def test_a_commitment_announced_at_the_end_of_the_calendar_stays_editable(
    client: TestClient, demo: Session, auth: dict, announced: str
) -> None:
    created = client.post(
        "/api/v1/commitments", json=_new_commitment(demo, announced=announced), headers=auth
    )
    assert created.status_code == 201, created.text
    changed = client.patch(
        f"/api/v1/commitments/{created.json()['id']}",
        json={"title": "Still editable"},
        headers={**auth, "If-Match": created.headers["etag"]},
    )
    assert changed.status_code == 200, changed.text


def test_tags_that_differ_only_in_case_or_spacing_are_one_tag(
    client: TestClient, demo: Session, auth: dict
) -> None:
    created = client.post(
        "/api/v1/commitments",
        json=_new_commitment(demo, tags=["Patrols", "patrols", "patrols "]),
        headers=auth,
    )
    assert created.status_code == 201, created.text
    assert created.json()["tags"] == ["Patrols"]


def test_an_observation_source_without_its_quote_is_refused(
    client: TestClient, demo: Session, auth: dict
) -> None:
    indicator = client.get("/api/v1/indicators").json()[0]
    source_id = client.get("/api/v1/sources").json()[0]["id"]
    response = client.post(
        f"/api/v1/indicators/{indicator['id']}/observations",
        json={"value": "3", "qualifier": "exact", "period": "2021", "source_id": source_id},
        headers=auth,
    )
    assert response.status_code == 422
    assert response.json()["detail"].startswith("quote:")


@pytest.mark.parametrize(
    "changes",
    [{"makers": [True]}, {"makers": ["4"]}, {"parent_id": True}, {"is_additional": "yes"}],
    ids=["true-as-id", "text-as-id", "true-as-parent", "text-as-bool"],
)
def test_ids_and_yes_no_fields_must_have_their_json_types(
    client: TestClient, demo: Session, auth: dict, changes: dict
) -> None:
    created = client.post("/api/v1/commitments", json=_new_commitment(demo), headers=auth)
    response = client.patch(
        f"/api/v1/commitments/{created.json()['id']}",
        json=changes,
        headers={**auth, "If-Match": created.headers["etag"]},
    )
    assert response.status_code == 400, response.text


@pytest.mark.parametrize("if_match", ["*", 'W/"1"', '"abc"', ""])
def test_a_change_needs_the_real_etag(
    client: TestClient, demo: Session, auth: dict, if_match: str
) -> None:
    """`*` would skip the check (428); a weak or wrong tag never matches (412)."""
    created = client.post("/api/v1/commitments", json=_new_commitment(demo), headers=auth)
    assert created.headers["etag"] == '"1"'
    response = client.patch(
        f"/api/v1/commitments/{created.json()['id']}",
        json={"title": "Overwritten"},
        headers={**auth, "If-Match": if_match},
    )
    assert response.status_code == (428 if if_match == "*" else 412), response.text
    assert (
        client.get(f"/api/v1/commitments/{created.json()['id']}", headers=auth).json()["title"]
        != "Overwritten"
    )


def test_a_deleted_record_must_be_restored_before_it_is_changed(
    client: TestClient, demo: Session, auth: dict, admin_auth: dict
) -> None:
    created = client.post("/api/v1/sources", json={"title": "Gone", "kind": "report"}, headers=auth)
    url = f"/api/v1/sources/{created.json()['source']['id']}"
    etag = created.headers["etag"]
    assert client.delete(url, headers={**admin_auth, "If-Match": etag}).status_code == 204
    for response in (
        client.patch(url, json={"title": "Changed"}, headers={**admin_auth, "If-Match": '"2"'}),
        client.post(url + "/publish", headers=admin_auth),
    ):
        assert response.status_code == 409, response.text
        assert "restore it first" in response.json()["detail"]
    assert client.post(url + "/restore", headers=admin_auth).status_code == 200


def test_a_deadline_in_a_financial_year_is_read_in_the_makers_year(
    client: TestClient, demo: Session, auth: dict, writer: Account
) -> None:
    """The Home Office's year starts in April: FY2023-24 is April 2023 to March 2024."""
    created = client.post(
        "/api/v1/commitments", json=_new_commitment(demo, deadline="FY2023-24"), headers=auth
    )
    assert created.status_code == 201, created.text
    deadline = created.json()["deadline"]
    assert (deadline["start"], deadline["end"]) == ("2023-04-01", "2024-03-31")
    url = f"/api/v1/commitments/{created.json()['id']}"
    # The stored deadline reads back as the same words: an edit keeps it.
    changed = client.patch(
        url, json={"title": "Renamed"}, headers={**auth, "If-Match": created.headers["etag"]}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["deadline"]["end"] == "2024-03-31"
    sign_in(client, writer)
    form = client.get(f"/commitments/{created.json()['id']}/edit", headers={"accept": "text/html"})
    assert form.status_code == 200
    assert 'value="FY2023-24"' in form.text


def test_an_actor_or_source_shown_by_a_published_commitment_stays_published(
    client: TestClient, demo: Session, auth: dict, admin_auth: dict
) -> None:
    """Readers must be able to open every record a published page names."""
    actor_url = f"/api/v1/actors/{_home_office(demo)}"
    withdrawn = client.post(actor_url + "/unpublish", headers=auth)
    assert withdrawn.status_code == 409
    assert "published pages show this actor" in withdrawn.json()["detail"]
    etag = client.get(actor_url).headers["etag"]
    deleted = client.delete(actor_url, headers={**admin_auth, "If-Match": etag})
    assert deleted.status_code == 409
    assert client.get(actor_url).status_code == 200
    source_id = client.get("/api/v1/sources").json()[0]["id"]
    quoted = client.post(f"/api/v1/sources/{source_id}/unpublish", headers=auth)
    assert quoted.status_code == 409
    # A source nothing published quotes may be withdrawn.
    spare = client.post("/api/v1/sources", json={"title": "Spare", "kind": "report"}, headers=auth)
    spare_url = f"/api/v1/sources/{spare.json()['source']['id']}"
    assert client.post(spare_url + "/publish", headers=auth).status_code == 200
    assert client.post(spare_url + "/unpublish", headers=auth).status_code == 200


def test_a_source_quoted_only_by_an_observation_stays_published_with_its_indicator(
    client: TestClient, demo: Session, auth: dict
) -> None:
    source = client.post("/api/v1/sources", json={"title": "Stats", "kind": "report"}, headers=auth)
    url = f"/api/v1/sources/{source.json()['source']['id']}"
    assert client.post(url + "/publish", headers=auth).status_code == 200
    indicator = client.get("/api/v1/indicators").json()[0]
    observed = client.post(
        f"/api/v1/indicators/{indicator['id']}/observations",
        json={
            "value": "7",
            "qualifier": "exact",
            "period": "2022",
            "source_id": source.json()["source"]["id"],
            "quote": "seven",
        },
        headers=auth,
    )
    assert observed.status_code == 201, observed.text
    refused = client.post(url + "/unpublish", headers=auth)
    assert refused.status_code == 409
    assert indicator["name"] in refused.json()["detail"]
