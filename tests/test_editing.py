"""Edit forms: validation, drafts, money confirmation, conflicts, history, escaping."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import (
    Account,
    Actor,
    ChangeRecord,
    Citation,
    Commitment,
    ExchangeRate,
    Indicator,
    MoneyFlow,
    Observation,
    Review,
    Source,
)
from tests.editing_helpers import (  # cheap_hashing: an autouse fixture
    HTML,
    cheap_hashing,  # noqa: F401
    hidden,
    make_account,
    post,
    sign_in,
    text_of,
)


def _actor(session: Session, short: str) -> Actor:
    return session.scalars(select(Actor).where(Actor.short_name == short)).one()


def _uk(session: Session) -> Actor:
    return session.scalars(select(Actor).where(Actor.country_code == "GB")).first()  # type: ignore[return-value]


def _source(session: Session) -> Source:
    return session.scalars(select(Source)).first()  # type: ignore[return-value]


def _new_commitment(client: TestClient, session: Session, **overrides: str) -> int:
    data = {
        "title": "Fund more patrols",
        "kind": "funding",
        "announced": "2020-11-28",
        "makers": str(_uk(session).id),
        "summary": "",
        **overrides,
    }
    response = post(client, "/edit/commitments/new", data)
    assert response.status_code == 303, response.text
    match = re.fullmatch(r"/commitments/(\d+)/edit", response.headers["location"])
    assert match
    return int(match.group(1))


def test_validation_messages_keep_what_was_typed(
    client: TestClient, demo: Session, editor: Account
) -> None:
    response = post(
        client,
        "/edit/commitments/new",
        {"title": "", "kind": "funding", "announced": "the 31st of Smarch", "summary": "Kept"},
    )
    assert response.status_code == 422
    page = text_of(response.text)
    assert "Nothing was saved" in page
    assert "Title is required" in page
    # The summary names the field by its label, not its internal name.
    assert '<a href="#f-makers">Made by</a>: choose at least one' in response.text
    assert "is not a period I can read" in page
    assert 'value="the 31st of Smarch"' in response.text
    assert ">Kept</textarea>" in response.text
    assert 'aria-invalid="true"' in response.text
    assert demo.scalar(select(Commitment).where(Commitment.summary == "Kept")) is None


def test_new_commitments_are_drafts_readers_cannot_see(
    client: TestClient, demo: Session, editor: Account
) -> None:
    commitment_id = _new_commitment(client, demo, title="A secret draft pledge")
    commitment = demo.get(Commitment, commitment_id)
    assert commitment is not None
    assert commitment.state == "draft"
    assert "A secret draft pledge" in client.get("/edit", headers=HTML).text

    anonymous = TestClient(client.app)
    assert anonymous.get(f"/commitments/{commitment_id}", headers=HTML).status_code == 404
    assert "A secret draft pledge" not in anonymous.get("/commitments", headers=HTML).text
    assert anonymous.get(f"/commitments/{commitment_id}/history", headers=HTML).status_code == 404
    assert "A secret draft pledge" not in anonymous.get("/", headers=HTML).text
    record = demo.scalars(
        select(ChangeRecord).where(
            ChangeRecord.entity_type == "commitments", ChangeRecord.entity_id == commitment_id
        )
    ).one()
    assert record.is_public is False
    assert record.account_id == editor.id

    page = client.get(f"/commitments/{commitment_id}/edit", headers=HTML)
    published = post(
        client, f"/commitments/{commitment_id}/publish", {"version": hidden(page.text, "version")}
    )
    assert published.status_code == 303
    assert anonymous.get(f"/commitments/{commitment_id}", headers=HTML).status_code == 200
    assert "A secret draft pledge" in anonymous.get("/commitments", headers=HTML).text
    assert "Published commitment" in anonymous.get("/", headers=HTML).text
    # Withdrawn to draft, it is private again.
    page = client.get(f"/commitments/{commitment_id}/edit", headers=HTML)
    withdrawn = post(
        client, f"/commitments/{commitment_id}/unpublish", {"version": hidden(page.text, "version")}
    )
    assert withdrawn.status_code == 303
    assert anonymous.get(f"/commitments/{commitment_id}", headers=HTML).status_code == 404
    # A publish from a page opened before another change is refused, not applied blindly.
    stale = post(client, f"/commitments/{commitment_id}/publish", {"version": "1"})
    assert stale.status_code == 409
    assert anonymous.get(f"/commitments/{commitment_id}", headers=HTML).status_code == 404


def test_money_is_confirmed_at_its_exact_value_before_saving(
    client: TestClient, demo: Session, editor: Account
) -> None:
    commitment_id = _new_commitment(client, demo)
    uk = _uk(demo)
    form = {
        "stage": "pledge",
        "amount": "€31.4m",
        "currency": "",
        "amount_text": "a further €31.4 million",
        "qualifier": "exact",
        "provider_id": str(uk.id),
        "stated_equivalent": "£28.1 million",
        "period": "2021-22",
    }
    check = post(client, f"/commitments/{commitment_id}/flows/new", form)
    assert check.status_code == 200
    page = text_of(check.text)
    assert "Check what was understood" in page
    assert "€31,400,000.00" in page
    assert "£28,100,000.00" in page
    assert "FY2021-22" in page  # the UK's April financial year
    assert demo.scalar(select(MoneyFlow).where(MoneyFlow.commitment_id == commitment_id)) is None

    # Changing the amount after the check asks again rather than saving.
    changed = post(
        client,
        f"/commitments/{commitment_id}/flows/new",
        {**form, "amount": "€31.5m", "confirmed": hidden(check.text, "confirmed")},
    )
    assert changed.status_code == 200
    assert "€31,500,000.00" in text_of(changed.text)

    saved = post(
        client,
        f"/commitments/{commitment_id}/flows/new",
        {**form, "confirmed": hidden(check.text, "confirmed")},
    )
    assert saved.status_code == 303
    flow = demo.scalars(select(MoneyFlow).where(MoneyFlow.commitment_id == commitment_id)).one()
    assert (flow.amount_minor, flow.currency) == (3_140_000_000, "EUR")
    assert (flow.stated_equivalent_minor, flow.stated_equivalent_currency) == (
        2_810_000_000,
        "GBP",
    )
    assert flow.amount_text == "a further €31.4 million"
    assert flow.period_precision == "fiscal_year"
    assert flow.period_start_on is not None
    assert flow.period_start_on.isoformat() == "2021-04-01"


@pytest.mark.parametrize(
    ("amount", "currency", "message"),
    [
        ("lots", "EUR", "e.g. '31.4 million'"),
        ("31.4 million", "", "choose the currency"),
        ("€5", "GBP", "the amount says EUR but GBP is chosen"),
        ("1,5", "EUR", "1,5"),
    ],
)
def test_bad_amounts_get_field_messages(
    client: TestClient, demo: Session, editor: Account, amount: str, currency: str, message: str
) -> None:
    commitment_id = _new_commitment(client, demo)
    response = post(
        client,
        f"/commitments/{commitment_id}/flows/new",
        {"stage": "pledge", "amount": amount, "currency": currency, "qualifier": "exact"},
    )
    assert response.status_code == 422
    assert message in text_of(response.text).replace("&#39;", "'")
    assert f'value="{amount}"' in response.text


def test_a_stale_save_gets_the_conflict_page_and_loses_nothing(
    client: TestClient, demo: Session, editor: Account
) -> None:
    commitment_id = _new_commitment(client, demo, title="Original title")
    page = client.get(f"/commitments/{commitment_id}/edit", headers=HTML)
    version = hidden(page.text, "version")
    base = {"kind": "funding", "announced": "2020-11-28", "makers": str(_uk(demo).id)}
    first = post(
        client,
        f"/commitments/{commitment_id}/edit",
        {**base, "title": "Their title", "version": version},
    )
    assert first.status_code == 303
    second = post(
        client,
        f"/commitments/{commitment_id}/edit",
        {**base, "title": "My title", "summary": "My careful summary", "version": version},
    )
    assert second.status_code == 409
    text = text_of(second.text)
    assert "Someone else saved this commitment" in text
    assert "Their title" in text  # the current values
    assert 'value="My title"' in second.text  # and theirs, ready to save again
    assert "My careful summary" in second.text
    demo.expire_all()
    commitment = demo.get(Commitment, commitment_id)
    assert commitment is not None
    assert commitment.title == "Their title"
    # Saving again deliberately, with the current version, works.
    again = post(
        client,
        f"/commitments/{commitment_id}/edit",
        {**base, "title": "My title", "version": hidden(second.text, "version")},
    )
    assert again.status_code == 303
    demo.expire_all()
    assert demo.get(Commitment, commitment_id).title == "My title"  # type: ignore[union-attr]


def test_a_stale_money_flow_save_is_refused(
    client: TestClient, demo: Session, editor: Account
) -> None:
    flow = demo.scalars(select(MoneyFlow)).first()
    assert flow is not None
    page = client.get(f"/money-flows/{flow.id}/edit", headers=HTML)
    version = hidden(page.text, "version")
    form = {
        "stage": "pledge",
        "amount": "€31.4m",
        "qualifier": "exact",
        "version": version,
        "confirmed": "EUR:3140000000",
        "amount_text": "a further €31.4 million",
    }
    assert (
        post(client, f"/money-flows/{flow.id}/edit", {**form, "notes": "first"}).status_code == 303
    )
    stale = post(client, f"/money-flows/{flow.id}/edit", {**form, "notes": "second"})
    assert stale.status_code == 409
    assert "Someone else saved this money flow" in text_of(stale.text)
    assert ">second</textarea>" in stale.text
    demo.expire_all()
    assert demo.get(MoneyFlow, flow.id).notes == "first"  # type: ignore[union-attr]


def test_history_shows_who_changed_what(client: TestClient, demo: Session, editor: Account) -> None:
    commitment_id = _new_commitment(client, demo, title="Before the edit")
    page = client.get(f"/commitments/{commitment_id}/edit", headers=HTML)
    post(
        client,
        f"/commitments/{commitment_id}/edit",
        {
            "title": "After the edit",
            "kind": "funding",
            "announced": "2020-11",
            "makers": str(_uk(demo).id),
            "tags": "small boats",
            "version": hidden(page.text, "version"),
        },
    )
    history = client.get(f"/commitments/{commitment_id}/history", headers=HTML)
    assert history.status_code == 200
    text = text_of(history.text)
    assert "Edited commitment “After the edit”" in text
    assert "Created commitment “Before the edit”" in text
    assert "by ed@example.org" in text
    assert re.search(r"title\s*Before the edit\s*After the edit", text)
    assert re.search(r"announced precision\s*day\s*month", text)
    assert "small boats" in text
    for path in (f"/sources/{_source(demo).id}/history", f"/actors/{_uk(demo).id}/history"):
        assert client.get(path, headers=HTML).status_code == 200

    # Readers see the edits of a published record, but never an editor's e-mail.
    post(
        client,
        f"/commitments/{commitment_id}/publish",
        {"version": str(_version_of(demo, commitment_id))},
    )
    anonymous = TestClient(client.app)
    public = anonymous.get(f"/commitments/{commitment_id}/history", headers=HTML)
    assert public.status_code == 200
    assert "Published commitment" in text_of(public.text)
    assert "ed@example.org" not in public.text
    assert "by an editor" in text_of(public.text)


def _version_of(session: Session, commitment_id: int) -> int:
    session.expire_all()
    commitment = session.get(Commitment, commitment_id)
    assert commitment is not None
    return commitment.version


def test_citation_with_a_source_created_inline(
    client: TestClient, demo: Session, editor: Account
) -> None:
    commitment_id = _new_commitment(client, demo)
    missing = post(
        client,
        f"/commitments/{commitment_id}/citations/new",
        {"supports": "commitment", "quote": "We will pay."},
    )
    assert missing.status_code == 422
    assert "pick a source, or give a new source" in text_of(missing.text)
    made = post(
        client,
        f"/commitments/{commitment_id}/citations/new",
        {
            "supports": "commitment",
            "quote": "We will pay.",
            "locator": "para 3",
            "new_source_title": "A new statement",
            "new_source_kind": "press_release",
            "new_source_published_on": "2020-12-01",
        },
    )
    assert made.status_code == 303
    citation = demo.scalars(select(Citation).where(Citation.commitment_id == commitment_id)).one()
    source = demo.get(Source, citation.source_id)
    assert source is not None
    assert source.title == "A new statement"
    assert source.state == "draft"
    existing = post(
        client,
        f"/commitments/{commitment_id}/citations/new",
        {"supports": "commitment", "quote": "Another line.", "source_id": str(_source(demo).id)},
    )
    assert existing.status_code == 303
    # Publishing the commitment publishes the draft source it quotes: readers never
    # meet a quote whose source they cannot open.
    page = client.get(f"/commitments/{commitment_id}/edit", headers=HTML)
    post(client, f"/commitments/{commitment_id}/publish", {"version": hidden(page.text, "version")})
    demo.expire_all()
    assert demo.get(Source, source.id).state == "published"  # type: ignore[union-attr]


def test_nul_characters_and_junk_get_answers_not_errors(
    client: TestClient, demo: Session, editor: Account
) -> None:
    response = post(
        client,
        "/edit/commitments/new",
        {
            "title": "Nul\x00title",
            "kind": "funding\x00",
            "announced": "2020",
            "makers": "999999999999999999",
        },
    )
    assert response.status_code == 422
    for path, data in [
        ("/edit/commitments/new", {"makers": "abc", "parent_id": "-1", "kind": "x"}),
        ("/edit/sources/new", {"title": "t" * 600, "kind": "report"}),
        ("/edit/exchange-rates", {"rate": "NaN", "rate_on": "2020-02-30"}),
        ("/commitments/999999/edit", {"version": "1"}),
        ("/commitments/99999999999/edit", {"version": "1"}),
        ("/money-flows/99999999999/edit", {"version": "1"}),
        ("/commitments/1/flows/new", {"amount": "1e9999", "stage": "pledge"}),
    ]:
        answer = post(client, path, data)
        assert 400 <= answer.status_code < 500, (path, answer.status_code)
    assert sign_in(client, Account(email="\x00@example.org"), "x\x00").status_code == 401


def test_reviews_go_through_the_review_rules(
    client: TestClient, demo: Session, editor: Account
) -> None:
    commitment_id = _new_commitment(client, demo)
    no_evidence = post(
        client,
        f"/commitments/{commitment_id}/reviews/new",
        {"reviewed_on": "2021-01-10", "status_found": "delivered"},
    )
    assert no_evidence.status_code == 422
    assert "needs evidence" in text_of(no_evidence.text)
    future = post(
        client,
        f"/commitments/{commitment_id}/reviews/new",
        {"reviewed_on": "2030-01-10", "status_found": "not_yet_assessed"},
    )
    assert future.status_code == 422
    assert "cannot be dated in the future" in text_of(future.text)
    ok = post(
        client,
        f"/commitments/{commitment_id}/reviews/new",
        {
            "reviewed_on": "2021-01-10",
            "status_found": "in_progress",
            "progress_percent": "20",
            "evidence_source_id": str(_source(demo).id),
            "evidence_quote": "Work has begun.",
            "next_review_on": "2021-05-28",
        },
    )
    assert ok.status_code == 303
    demo.expire_all()
    commitment = demo.get(Commitment, commitment_id)
    assert commitment is not None
    assert commitment.status == "in_progress"
    review = demo.scalars(select(Review).where(Review.commitment_id == commitment_id)).one()
    assert review.reviewer_account_id == editor.id


def test_sources_actors_indicators_observations_and_rates(
    client: TestClient, demo: Session, editor: Account
) -> None:
    bad_actor = post(
        client, "/edit/actors/new", {"name": "X", "kind": "government", "country_code": "ZZ"}
    )
    assert bad_actor.status_code == 422
    assert "two-letter ISO 3166" in text_of(bad_actor.text)
    actor = post(
        client,
        "/edit/actors/new",
        {
            "name": "Belgian Government",
            "kind": "government",
            "country_code": "be",
            "fiscal_year_start_month": "1",
        },
    )
    assert actor.status_code == 303
    assert (
        demo.scalars(select(Actor).where(Actor.name == "Belgian Government")).one().country_code
        == "BE"
    )

    source = post(
        client,
        "/edit/sources/new",
        {"title": "A report", "kind": "report", "url": "ftp://nope", "published_on": "2021-02-30"},
    )
    assert source.status_code == 422
    assert "a date like 2020-11-28" in text_of(source.text)
    assert "http:// or https://" in text_of(source.text)
    source = post(
        client, "/edit/sources/new", {"title": "A report", "kind": "report", "full_text": "Hello"}
    )
    assert source.status_code == 303
    assert demo.scalars(select(Source).where(Source.title == "A report")).one().content_hash == (
        "185f8db32271fe25f561a6fc938b2e264306ec304eda518007d1764826381969"
    )

    commitment = demo.scalars(select(Commitment)).first()
    assert commitment is not None
    indicator = post(
        client,
        "/edit/indicators/new",
        {"name": "Boats stopped", "unit": "boats", "commitment_ids": f"{commitment.id}"},
    )
    assert indicator.status_code == 303
    indicator_id = int(indicator.headers["location"].split("/")[2])
    obs = post(
        client,
        f"/indicators/{indicator_id}/observations/new",
        {
            "value": "140",
            "qualifier": "approximately",
            "value_text": "around 140",
            "period": "2020-07-01/2020-11-28",
            "source_id": str(_source(demo).id),
            "quote": "around 140 arrests",
            "locator": "para 5",
        },
    )
    assert obs.status_code == 303, obs.text
    observation = demo.scalars(
        select(Observation).where(Observation.indicator_id == indicator_id)
    ).one()
    assert str(observation.value) == "140.000000"
    assert (
        demo.scalars(select(Citation).where(Citation.observation_id == observation.id))
        .one()
        .locator
        == "para 5"
    )
    assert demo.get(Indicator, indicator_id) is not None

    same = post(
        client,
        "/edit/exchange-rates",
        {
            "rate_on": "2020-11-27",
            "base_currency": "EUR",
            "quote_currency": "EUR",
            "rate": "1",
            "source_name": "ECB",
        },
    )
    assert same.status_code == 422
    assert "two different currencies" in text_of(same.text)
    rate = post(
        client,
        "/edit/exchange-rates",
        {
            "rate_on": "2020-11-27",
            "base_currency": "EUR",
            "quote_currency": "GBP",
            "rate": "0.89755",
            "source_name": "ECB reference rates",
        },
    )
    assert rate.status_code == 303
    stored = demo.scalars(select(ExchangeRate)).one()
    assert str(stored.rate.normalize()) == "0.89755"
    assert client.get(f"/exchange-rates/{stored.id}/history", headers=HTML).status_code == 200


def test_admins_delete_and_restore_and_nothing_is_lost(
    client: TestClient, demo: Session, admin: Account
) -> None:
    linked = select(Commitment.parent_id).where(Commitment.parent_id.is_not(None))
    commitment = demo.scalars(
        select(Commitment).where(Commitment.state == "published", Commitment.id.not_in(linked))
    ).first()
    assert commitment is not None
    anonymous = TestClient(client.app)
    assert anonymous.get(f"/commitments/{commitment.id}", headers=HTML).status_code == 200
    page = client.get(f"/commitments/{commitment.id}/edit", headers=HTML)
    deleted = post(
        client, f"/commitments/{commitment.id}/delete", {"version": hidden(page.text, "version")}
    )
    assert deleted.status_code == 303
    assert anonymous.get(f"/commitments/{commitment.id}", headers=HTML).status_code == 404
    page = client.get(f"/commitments/{commitment.id}/edit", headers=HTML)
    assert "Restore" in page.text
    # Publishing a deleted record is refused, even by a crafted request.
    refused = post(
        client, f"/commitments/{commitment.id}/publish", {"version": hidden(page.text, "version")}
    )
    assert refused.status_code in (303, 409)
    restored = post(
        client, f"/commitments/{commitment.id}/restore", {"version": hidden(page.text, "version")}
    )
    assert restored.status_code == 303
    assert anonymous.get(f"/commitments/{commitment.id}", headers=HTML).status_code == 200
    actions = demo.scalars(
        select(ChangeRecord.action)
        .where(ChangeRecord.entity_type == "commitments", ChangeRecord.entity_id == commitment.id)
        .order_by(ChangeRecord.id)
    ).all()
    assert actions[-2:] == ["delete", "restore"]


def test_removing_a_quoted_money_flow_removes_its_quotes_into_the_history(
    client: TestClient, demo: Session, admin: Account
) -> None:
    """The demo pledge's flow is quoted (para 8): its quote goes with it, recorded."""
    from app.models import Citation, MoneyFlow

    flow = demo.scalars(
        select(MoneyFlow).where(MoneyFlow.id.in_(select(Citation.money_flow_id)))
    ).first()
    assert flow is not None
    flow_id, commitment_id = flow.id, flow.commitment_id
    quote_ids = demo.scalars(select(Citation.id).where(Citation.money_flow_id == flow_id)).all()
    removed = post(client, f"/money-flows/{flow_id}/delete")
    assert removed.status_code == 303
    demo.expire_all()
    assert demo.get(MoneyFlow, flow_id) is None
    gone = demo.scalars(
        select(ChangeRecord.entity_id).where(
            ChangeRecord.entity_type == "citations", ChangeRecord.action == "delete"
        )
    ).all()
    assert set(quote_ids) <= set(gone)
    # The commitment's history still tells of the quote that went with its flow.
    history = client.get(f"/commitments/{commitment_id}/history", headers=HTML)
    assert text_of(history.text).count("Removed citation") == len(quote_ids)


HOSTILE = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "Ünïcödé " + "ß漢字🙂" * 100,
]


@pytest.mark.parametrize("hostile", HOSTILE, ids=["script", "attribute", "long-unicode"])
def test_user_text_is_escaped_everywhere(
    client: TestClient, demo: Session, editor: Account, hostile: str
) -> None:
    commitment_id = _new_commitment(
        client, demo, title=hostile[:500], summary=hostile, tags=hostile[:90]
    )
    post(
        client,
        f"/commitments/{commitment_id}/citations/new",
        {
            "supports": "commitment",
            "quote": hostile,
            "new_source_title": hostile[:500],
            "new_source_kind": "other",
        },
    )
    drafts = client.get("/edit", headers=HTML).text  # lists the draft by its title
    assert "<script>alert" not in drafts
    assert "<img src=x" not in drafts
    if hostile.startswith("Ü"):
        assert hostile[:200] in drafts
    else:
        assert "&lt;" in drafts
    page = client.get(f"/commitments/{commitment_id}/edit", headers=HTML)
    post(client, f"/commitments/{commitment_id}/publish", {"version": hidden(page.text, "version")})
    for path in (
        f"/commitments/{commitment_id}/edit",
        f"/commitments/{commitment_id}/history",
        f"/commitments/{commitment_id}",
        "/commitments",
        "/",
    ):
        html = client.get(path, headers=HTML).text
        assert "<script>alert" not in html, path
        assert "<img src=x" not in html, path
        if hostile.startswith("Ü"):
            assert hostile[:200] in html, path
    conflict = post(
        client,
        f"/commitments/{commitment_id}/edit",
        {
            "title": hostile[:500],
            "kind": "funding",
            "announced": "2020",
            "version": "0",
            "makers": str(_uk(demo).id),
        },
    )
    assert conflict.status_code == 409
    assert "<script>alert" not in conflict.text
    assert "<img src=x" not in conflict.text


def test_a_quote_is_corrected_and_a_stale_correction_refused(
    client: TestClient, demo: Session, editor: Account
) -> None:
    citation = demo.scalars(select(Citation).where(Citation.commitment_id.is_not(None))).first()
    assert citation is not None
    page = client.get(f"/citations/{citation.id}/edit", headers=HTML)
    assert page.status_code == 200
    version = hidden(page.text, "version")
    form = {"quote": "Corrected quote", "locator": "para 9", "source_id": str(citation.source_id)}
    saved = post(client, f"/citations/{citation.id}/edit", {**form, "version": version})
    assert saved.status_code == 303
    stale = post(
        client, f"/citations/{citation.id}/edit", {**form, "quote": "Mine", "version": version}
    )
    assert stale.status_code == 409
    assert "it now reads: “Corrected quote”" in text_of(stale.text)
    assert ">Mine</textarea>" in stale.text
    demo.expire_all()
    current = demo.get(Citation, citation.id)
    assert current is not None
    assert (current.quote, current.locator) == ("Corrected quote", "para 9")
    history = client.get(f"/commitments/{citation.commitment_id}/history", headers=HTML)
    assert "Corrected quote" in text_of(history.text)


def test_editors_see_drafts_in_the_list_and_page_marked_as_drafts(
    client: TestClient, session: Session
) -> None:
    import datetime as dt

    from app.models import Commitment

    draft = Commitment(kind="action", title="Unpublished plan", announced_on=dt.date(2024, 1, 1))
    session.add(draft)
    session.commit()
    assert "Unpublished plan" not in client.get("/commitments").text
    assert client.get(f"/commitments/{draft.id}").status_code == 404
    assert sign_in(client, make_account(session, "drafts@example.org")).status_code == 303
    listing = client.get("/commitments").text
    assert "Unpublished plan" in listing
    assert "draft-badge" in listing
    page = client.get(f"/commitments/{draft.id}")
    assert page.status_code == 200
    assert "Draft — not public" in page.text


def test_makers_are_ticked_in_a_list_with_the_chosen_ones_first(
    client: TestClient, demo: Session, editor: Account
) -> None:
    """A hundred actors stay usable: ticks, not a Ctrl-click list, and a kept choice on top."""
    blank = client.get("/edit/commitments/new", headers=HTML).text
    assert '<fieldset class="choices" id="f-makers">' in blank
    assert '<select id="f-makers"' not in blank
    french = demo.scalars(
        select(Actor).where(Actor.name == "French Ministry of the Interior")
    ).one()
    refused = post(
        client,
        "/edit/commitments/new",
        {"title": "", "kind": "action", "announced": "2021", "makers": str(french.id)},
    )
    assert refused.status_code == 422
    makers = refused.text.split('id="f-makers"')[1].split("</fieldset>")[0]
    first = re.search(r'<input type="checkbox" name="makers" value="(\d+)"( checked)?>', makers)
    assert first
    assert (int(first.group(1)), first.group(2)) == (french.id, " checked")
