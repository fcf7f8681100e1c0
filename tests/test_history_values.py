"""The record history shows values as a reader writes them, not as the database stores them."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Actor, ChangeRecord
from app.services import names
from app.web.presenters import fiscal_year_text, history_label, history_value
from tests.editing_helpers import (  # cheap_hashing: an autouse fixture
    HTML,
    cheap_hashing,  # noqa: F401
    hidden,
    make_account,
    post,
    sign_in,
    text_of,
)


def _value(field: str, value: object, snapshot: dict[str, object] | None = None) -> str:
    return str(history_value("money_flows", field, value, snapshot or {}, {}, "en_GB"))


@pytest.mark.parametrize(
    ("field", "value", "snapshot", "shown"),
    [
        ("amount_minor", 1_050_000_000, {"currency": "GBP"}, "£10,500,000.00"),
        ("amount_minor", 1050, {"currency": "JPY"}, "JP¥1,050"),  # no minor unit
        (
            "stated_equivalent_minor",
            2_810_000_000,
            {"currency": "EUR", "stated_equivalent_currency": "GBP"},
            "£28,100,000.00",
        ),
        ("amount_minor", 1050, {}, "1050 (minor units, currency not recorded)"),
        ("amount_minor", 1050, {"currency": "XXQ"}, "1050 (minor units of XXQ)"),
        ("is_additional", False, {}, "no"),
        ("is_additional", True, {}, "yes"),
        ("tags", ["border security", "walkthrough"], {}, "border security, walkthrough"),
        ("published_at", "2026-11-27T00:05:35.957810+00:00", {}, "27 November 2026 00:05 UTC"),
        ("published_at", "2026-11-27T01:05:35+01:00", {}, "27 November 2026 00:05 UTC"),
        ("value_on", "2023-03-10", {}, "10 March 2023"),
        ("value_on", "not a date", {}, "not a date"),
        ("qualifier", "up_to", {}, "up to"),
        ("qualifier", "exact", {}, "exact"),
        ("period_precision", "fiscal_year", {}, "fiscal year"),
        ("period_fiscal_start_month", 4, {}, "April"),
        ("amount_text", "up to £10.5 million", {}, "up to £10.5 million"),
        ("amount_text", None, {}, ""),
        ("provider_id", 7, {}, "actor 7"),  # a name this reader may not see is not shown
        ("reviewer_account_id", 3, {}, "an editor"),
    ],
)
def test_history_value(field: str, value: object, snapshot: dict[str, object], shown: str) -> None:
    assert _value(field, value, snapshot) == shown


def test_history_value_names_and_links_records() -> None:
    known = {("actors", 1): "UK Home Office", ("actors", 2): "Ministère <de> l’Intérieur"}
    html = str(history_value("commitments", "makers", [1, 2, 9], {}, known, "en_GB"))
    assert html == (
        '<a href="/actors/1">UK Home Office</a>, '
        '<a href="/actors/2">Ministère &lt;de&gt; l’Intérieur</a>, actor 9'
    )
    # parent_id points into the record's own table.
    parent = history_value("commitments", "parent_id", 5, {}, {("commitments", 5): "Plan"}, "en")
    assert str(parent) == '<a href="/commitments/5">Plan</a>'


def test_free_text_is_escaped() -> None:
    assert _value("summary", "<script>x</script>") == "&lt;script&gt;x&lt;/script&gt;"


def test_history_labels() -> None:
    assert history_label("amount_minor") == "amount"
    assert history_label("provider_id") == "provider"
    assert history_label("is_additional") == "additional"
    assert history_label("makers") == "made by"
    assert history_label("next_review_on") == "next review on"


def test_fiscal_year_text() -> None:
    assert fiscal_year_text(4) == "April (April–March)"
    assert fiscal_year_text(7) == "July (July–June)"
    assert fiscal_year_text(1) == "January (the calendar year)"


def test_names_for_hides_drafts_from_readers(session: Session) -> None:
    published = Actor(name="Published ministry", kind="ministry", state="published")
    draft = Actor(name="Secret draft ministry", kind="ministry", state="draft")
    session.add_all([published, draft])
    session.flush()
    wanted = {"actors": {published.id, draft.id}}
    reader = names.names_for(session, wanted, include_drafts=False)
    assert reader == {("actors", published.id): "Published ministry"}
    editor = names.names_for(session, wanted, include_drafts=True)
    assert editor[("actors", draft.id)] == "Secret draft ministry"


def test_history_page_shows_money_names_and_lists(client: TestClient, demo: Session) -> None:
    account = make_account(demo, "historian@example.org")
    assert sign_in(client, account).status_code == 303
    uk = demo.scalars(select(Actor).where(Actor.country_code == "GB")).first()
    assert uk is not None
    created = post(
        client,
        "/edit/commitments/new",
        {
            "title": "Border money",
            "kind": "funding",
            "announced": "2023-03-10",
            "makers": str(uk.id),
            "tags": "border security, walkthrough",
            "summary": "",
        },
    )
    assert created.status_code == 303
    commitment_id = int(re.findall(r"\d+", created.headers["location"])[0])
    form = {
        "stage": "pledge",
        "amount": "£10.5m",
        "currency": "",
        "amount_text": "up to £10.5 million in 2023-24",
        "qualifier": "up_to",
        "provider_id": str(uk.id),
        "period": "2023-24",
    }
    check = post(client, f"/commitments/{commitment_id}/flows/new", form)
    saved = post(
        client,
        f"/commitments/{commitment_id}/flows/new",
        {**form, "confirmed": hidden(check.text, "confirmed")},
    )
    assert saved.status_code == 303

    html = client.get(f"/commitments/{commitment_id}/history", headers=HTML).text
    text = text_of(html)
    assert re.search(r"amount\s*£10,500,000\.00", text)
    assert re.search(r"qualifier\s*up to", text)
    assert f'<a href="/actors/{uk.id}">{uk.name}</a>' in html  # provider and maker
    assert re.search(r"made by\s*" + re.escape(uk.name), text)
    assert "border security, walkthrough" in text
    assert re.search(r"additional\s*no", text)
    assert re.search(r"period fiscal start month\s*April", text)
    for raw in ("1050000000", "['", "[1]", "False", "fiscal_year", "up_to"):
        assert raw not in text, raw
    # The snapshot behind it is unchanged: the presenter only changes how it reads.
    change = demo.scalars(
        select(ChangeRecord).where(ChangeRecord.entity_type == "money_flows")
    ).all()[-1]
    assert change.after is not None
    assert change.after["amount_minor"] == 1_050_000_000


def test_history_page_links_back_to_its_record(client: TestClient, demo: Session) -> None:
    actor = demo.scalars(select(Actor).order_by(Actor.id)).first()
    assert actor is not None
    html = client.get(f"/actors/{actor.id}/history", headers=HTML).text
    crumbs = f'class="crumbs"><a href="/actors">Actors</a> › <a href="/actors/{actor.id}">'
    assert crumbs in html
