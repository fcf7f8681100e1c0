"""The commitments list: search, filters, facets, sorting, keyset pages, CSV and bad input.

Runs on SQLite (FTS5) and PostgreSQL (tsvector) alike: the user-visible
behaviour must be the same.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections import OrderedDict
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from app.clock import FixedClock
from app.models import (
    Actor,
    Citation,
    Commitment,
    CommitmentActor,
    CommitmentTag,
    MoneyFlow,
    Source,
    Tag,
)
from app.services import browse
from app.vocab import PublicationState
from tests.sql_helpers import selects

DEMO_TITLES = 11


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&amp;", "&")


def _titles(html: str) -> list[str]:
    """Titles of the result rows, in order."""
    table = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [
        re.sub(r"&#39;|&amp;", lambda m: {"&#39;": "'", "&amp;": "&"}[m.group()], t)
        for t in re.findall(r'<a href="/commitments/\d+">([^<]*)</a>', table)
    ]


def _count(html: str) -> int:
    match = re.search(r"([\d,]+) commitments? (?:match|published)", _text(html))
    assert match, _text(html)[:500]
    return int(match.group(1).replace(",", ""))


def _csv(client: TestClient, query: str = "") -> list[dict[str, str]]:
    response = client.get(f"/commitments.csv{query}")
    assert response.status_code == 200
    assert response.content.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM for spreadsheets
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


# ------------------------------------------------------------------ search


def test_search_matches_titles_summaries_and_quotes(client: TestClient, demo: Session) -> None:
    # A title word.
    assert _titles(client.get("/commitments?q=patrols").text) == [
        "Increase in the number of land patrols"
    ]
    # A word only in a quote ("cutting-edge" is in the statement, not the title).
    assert _titles(client.get("/commitments?q=cutting").text) == [
        "New wave of surveillance and detection technology"
    ]
    # Prefix matching, case-insensitive, every word required.
    assert "Increase in the number of land patrols" in _titles(
        client.get("/commitments?q=PATROL").text
    )
    assert _titles(client.get("/commitments?q=patrols+freight").text) == []


@pytest.mark.parametrize(
    "q",
    [
        '"',
        '"unbalanced',
        "small AND OR NOT",
        "NEAR(small boats, 2)",
        "title:small",
        "*",
        "-small",
        "small* ^boats",
        "'; DROP TABLE commitments; --",
        "()[]{}:!&|<>",
        "x" * 600,
    ],
)
def test_search_operators_are_plain_words(client: TestClient, demo: Session, q: str) -> None:
    response = client.get("/commitments", params={"q": q})
    assert response.status_code == 200
    assert client.get("/commitments.csv", params={"q": q}).status_code == 200


def test_search_with_operator_words_finds_them_as_words(client: TestClient, demo: Session) -> None:
    titles = _titles(client.get("/commitments", params={"q": '"small" AND boats'}).text)
    # AND is a plain (required) word here, which the demo does not contain.
    assert titles == []
    titles = _titles(client.get("/commitments", params={"q": '"small-boat" (crossings)'}).text)
    assert "New UK–France joint operational plan to stop small-boat crossings" in titles


def test_search_ignores_accents_on_both_databases(client: TestClient, session: Session) -> None:
    """ "securite" finds "Sécurité" and "sécurité" finds "securite", on SQLite and PostgreSQL."""
    session.add_all(
        [
            Commitment(
                kind="action",
                title="Coopération en matière de Sécurité",
                announced_on=dt.date(2024, 1, 1),
                state=PublicationState.published,
            ),
            Commitment(
                kind="action",
                title="Cooperation on maritime securite drills",
                announced_on=dt.date(2024, 1, 2),
                state=PublicationState.published,
            ),
        ]
    )
    session.commit()
    both = {"Coopération en matière de Sécurité", "Cooperation on maritime securite drills"}
    assert set(_titles(client.get("/commitments?q=securite").text)) == both
    assert set(_titles(client.get("/commitments?q=SÉCURITÉ coopé").text)) == both
    assert _titles(client.get("/commitments?q=matiere").text) == [
        "Coopération en matière de Sécurité"
    ]


def test_search_index_follows_edits(client: TestClient, session: Session) -> None:
    commitment = Commitment(
        kind="action",
        title="Zebra crossings for everyone",
        announced_on=dt.date(2024, 1, 1),
        state=PublicationState.published,
    )
    session.add(commitment)
    session.commit()
    assert _titles(client.get("/commitments?q=zebra").text) == ["Zebra crossings for everyone"]
    commitment.title = "Pelican crossings for everyone"
    session.commit()
    assert _titles(client.get("/commitments?q=zebra").text) == []
    assert _titles(client.get("/commitments?q=pelican").text) == ["Pelican crossings for everyone"]
    source = Source(title="A report", kind="report", state=PublicationState.published)
    session.add(source)
    session.flush()
    citation = Citation(source=source, quote="Quagga mussels are mentioned.", commitment=commitment)
    session.add(citation)
    session.commit()
    assert _titles(client.get("/commitments?q=quagga").text) == ["Pelican crossings for everyone"]
    session.delete(citation)
    session.commit()
    assert _titles(client.get("/commitments?q=quagga").text) == []
    session.delete(commitment)
    session.commit()
    assert _titles(client.get("/commitments?q=pelican").text) == []


# ----------------------------------------------------------------- filters


def test_filters_status_kind_tag_currency_stage(client: TestClient, demo: Session) -> None:
    assert _count(client.get("/commitments?status=in_progress").text) == 4
    assert _count(client.get("/commitments?kind=target").text) == 1
    assert _count(client.get("/commitments?kind=target&kind=funding").text) == 2
    assert _titles(client.get("/commitments?currency=EUR").text) == [
        "UK funding of €31.4 million for France’s efforts against small boats"
    ]
    assert _count(client.get("/commitments?currency=eur&stage=pledge").text) == 1
    assert _count(client.get("/commitments?stage=disbursement").text) == 0
    assert _count(client.get("/commitments?tag=recent-efforts").text) == 4
    assert _count(client.get("/commitments?status=in_progress&kind=target").text) == 0


def test_filters_by_actor_role(client: TestClient, demo: Session) -> None:
    jic = demo.scalars(select(Actor).where(Actor.name.like("Joint intelligence%"))).one()
    france = demo.scalars(select(Actor).where(Actor.name.like("French%"))).one()
    assert _count(client.get(f"/commitments?maker={jic.id}").text) == 1
    assert _titles(client.get(f"/commitments?recipient={france.id}").text) == [
        "UK funding of €31.4 million for France’s efforts against small boats"
    ]
    page = client.get(f"/commitments?recipient={france.id}").text
    assert "for: French Ministry of the Interior" in _text(page)


def test_filters_by_dates_review_state_overdue_and_sources(
    client: TestClient, demo: Session, clock: FixedClock
) -> None:
    assert _count(client.get("/commitments?announced_from=2020-11-28").text) == DEMO_TITLES
    assert _count(client.get("/commitments?announced_to=2020-11-27").text) == 0
    # On 15 January 2021 (the test clock): reviews due 28 May 2021 are not yet due.
    assert _count(client.get("/commitments?review=due").text) == 0
    assert _count(client.get("/commitments?review=never_reviewed").text) == 7
    assert _count(client.get("/commitments?review=scheduled").text) == 2
    clock.set(dt.date(2021, 5, 10))
    assert _count(client.get("/commitments?review=due").text) == 2
    clock.set(dt.date(2021, 6, 1))
    assert _count(client.get("/commitments?review=overdue").text) == 2
    # Deadlines "in the coming days" (read as by 12 December 2020) have passed.
    assert _count(client.get("/commitments?overdue=1").text) == 5
    assert _count(client.get("/commitments?unsourced=1").text) == 0


def test_unsourced_filter(client: TestClient, demo: Session) -> None:
    demo.add(
        Commitment(
            kind="target",
            title="Quote-less target",
            announced_on=dt.date(2022, 1, 1),
            state=PublicationState.published,
        )
    )
    demo.commit()
    assert _titles(client.get("/commitments?unsourced=1").text) == ["Quote-less target"]
    rows = _csv(client, "?unsourced=1")
    assert [r["unsourced"] for r in rows] == ["true"]


def test_facet_counts_reflect_the_filters(client: TestClient, demo: Session) -> None:
    page = _text(client.get("/commitments").text)
    assert "In progress 4" in page
    assert "Not yet assessed 7" in page
    filtered = _text(client.get("/commitments?kind=action").text)
    assert "Not yet assessed 5" in filtered  # 7 less the funding pledge and the target
    assert "EUR" not in filtered.split("Currency")[-1].split("Stage")[0]


def test_the_for_facet_counts_recipients_and_follows_to_the_filter(
    client: TestClient, demo: Session
) -> None:
    """Who a commitment is for is a facet like who made it (?recipient=)."""
    html = client.get("/commitments").text
    aside = html.split('<aside class="facets"')[1].split("</aside>")[0]
    assert "<h2>For</h2>" in aside
    link = re.search(r'href="(/commitments\?[^"]*recipient=(\d+)[^"]*)"', aside)
    assert link
    recipient = int(link.group(2))
    expected = demo.scalar(
        select(func.count(func.distinct(CommitmentActor.commitment_id)))
        .join(Commitment, Commitment.id == CommitmentActor.commitment_id)
        .where(
            CommitmentActor.actor_id == recipient,
            CommitmentActor.role == "recipient",
            Commitment.state == "published",
            Commitment.deleted_at.is_(None),
        )
    )
    assert _count(client.get(link.group(1).replace("&amp;", "&")).text) == expected


def test_counts_of_large_results_are_cached_until_the_data_changes(
    client: TestClient, demo: Session, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(browse, "CACHE_MIN_ROWS", 1)  # the demo's 11 count as "large"
    monkeypatch.setattr(browse, "_cache", OrderedDict())  # nothing from other tests
    with selects(engine) as cold:
        assert "In progress 4" in _text(client.get("/commitments").text)
    with selects(engine) as warm:
        assert "In progress 4" in _text(client.get("/commitments").text)
    # The total and the six facets (seven queries or more) came from the cache.
    assert len(warm) <= len(cold) - 7, (len(cold), len(warm))

    # Another filter state has its own entry: computed, not served from the first.
    with selects(engine) as other:
        assert _count(client.get("/commitments?status=in_progress").text) == 4
    assert len(other) >= len(cold) - 1

    # A change to the data (here a status) invalidates every entry at once.
    moved = demo.scalars(
        select(Commitment)
        .where(Commitment.status == "not_yet_assessed", Commitment.state == "published")
        .limit(1)
    ).one()
    moved.status = "in_progress"
    demo.commit()
    with selects(engine) as after:
        page = _text(client.get("/commitments").text)
    assert "In progress 5" in page
    assert "Not yet assessed 6" in page
    assert len(after) == len(cold)
    assert _count(client.get("/commitments?status=in_progress").text) == 5


def test_list_rows_are_loaded_in_a_fixed_number_of_queries(
    client: TestClient, demo: Session, engine: Engine
) -> None:
    """Actors, money and tags of a page come in one query each, however many rows."""
    with selects(engine) as two:
        assert len(_titles(client.get("/commitments?size=2").text)) == 2
    with selects(engine) as eleven:
        page = client.get("/commitments?size=11").text
    assert len(_titles(page)) == DEMO_TITLES
    assert len(eleven) == len(two)
    assert "UK Home Office" in page  # a maker, loaded with its link
    assert "€31.4 million pledge" in _text(page)  # its money flow, loaded for the page


def test_facet_links_toggle_filters(client: TestClient, demo: Session) -> None:
    html = client.get("/commitments").text
    link = re.search(r'href="(/commitments\?[^"]*status=in_progress[^"]*)"', html)
    assert link
    selected = client.get(link.group(1).replace("&amp;", "&")).text
    assert _count(selected) == 4
    assert 'aria-current="true"' in selected
    # Following the selected facet again removes it.
    again = re.search(r'href="([^"]*)" class="selected"', selected)
    assert again
    assert _count(client.get(again.group(1).replace("&amp;", "&")).text) == DEMO_TITLES


def test_drafts_stay_out_of_list_facets_and_csv(client: TestClient, demo: Session) -> None:
    demo.add(Commitment(kind="target", title="Hidden draft zz", announced_on=dt.date(2024, 1, 1)))
    demo.commit()
    assert _count(client.get("/commitments").text) == DEMO_TITLES
    assert _titles(client.get("/commitments?q=hidden").text) == []
    assert "Target 1" in _text(client.get("/commitments").text)
    assert all(r["title"] != "Hidden draft zz" for r in _csv(client))


# ------------------------------------------------------------ sorts, pages


def _all_pages(client: TestClient, url: str) -> tuple[list[str], list[str]]:
    """Follow "next" to the end, then "previous" back; titles seen each way."""
    forward: list[str] = []
    pages = []
    while url:
        html = client.get(url).text
        pages.append(html)
        forward += _titles(html)
        match = re.search(r'rel="next" href="([^"]*)"', html)
        url = match.group(1).replace("&amp;", "&") if match else ""
    backward: list[str] = []
    html = pages[-1]
    while True:
        match = re.search(r'rel="prev" href="([^"]*)"', html)
        if not match:
            break
        html = client.get(match.group(1).replace("&amp;", "&")).text
        backward = _titles(html) + backward
    return forward, backward + _titles(pages[-1])


@pytest.mark.parametrize(
    "sort", ["title", "-title", "-announced", "deadline", "-next_review", "-changed"]
)
def test_keyset_pages_cover_every_row_once_both_ways(
    client: TestClient, demo: Session, sort: str
) -> None:
    forward, backward = _all_pages(client, f"/commitments?size=3&sort={sort}")
    assert len(forward) == DEMO_TITLES
    assert len(set(forward)) == DEMO_TITLES
    assert backward == forward
    if sort == "title":
        assert forward == sorted(forward)


def test_sort_by_amount_needs_one_currency(client: TestClient, demo: Session) -> None:
    html = client.get("/commitments?sort=-amount").text
    assert "Ignored:" in html
    assert "needs exactly one currency" in html
    ok = client.get("/commitments?sort=-amount&currency=EUR")
    assert ok.status_code == 200
    assert "Ignored" not in ok.text


def test_page_urls_are_stable_and_shareable(client: TestClient, demo: Session) -> None:
    html = client.get("/commitments?size=4&kind=action").text
    next_url = re.search(r'rel="next" href="([^"]*)"', html)
    assert next_url
    url = next_url.group(1).replace("&amp;", "&")
    assert parse_qs(urlsplit(url).query)["kind"] == ["action"]
    assert client.get(url).text == client.get(url).text


# --------------------------------------------------------------- bad input


def test_tampered_page_token_is_a_400_with_reason(client: TestClient, demo: Session) -> None:
    html = client.get("/commitments?size=2").text
    url = re.search(r'rel="next" href="([^"]*)"', html).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
    token = parse_qs(urlsplit(url).query)["after"][0]
    forged = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    response = client.get("/commitments", params={"size": 2, "after": forged})
    assert response.status_code == 400
    assert "page token is not valid" in response.text
    assert client.get("/commitments", params={"after": "%%%"}).status_code == 400
    other_sort = client.get("/commitments", params={"after": token, "sort": "title", "size": 2})
    assert other_sort.status_code == 400
    assert "another sort order" in other_sort.text
    assert client.get("/commitments.csv", params={"after": forged}).status_code in (200, 400)


def test_forged_token_with_own_secret_cannot_inject(client: TestClient, demo: Session) -> None:
    token = browse.encode_cursor(browse.Cursor("-announced", "not a date", 1), "change-me")
    response = client.get("/commitments", params={"after": token})
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("announced_from=2021-02-30", "is not a date"),
        ("announced_from=yesterday", "is not a date"),
        ("announced_from=2021-02-01&announced_to=2021-01-01", "is after"),
        ("size=abc", "is not a page size"),
        ("size=-5", "is not a page size"),
        ("maker=abc", "is not an actor id"),
        ("maker=99999999999999999999999", "is not an actor id"),
        ("overdue=maybe", "yes/no"),
        ("q=a&q=b", "give it once"),
    ],
)
def test_malformed_parameters_are_400_with_reason(
    client: TestClient, demo: Session, query: str, reason: str
) -> None:
    for path in ("/commitments", "/commitments.csv"):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 400, (path, query)
        assert reason in response.text


def test_unknown_values_are_shown_as_ignored(client: TestClient, demo: Session) -> None:
    response = client.get("/commitments?status=bogus&kind=nope&sort=sideways&currency=euros")
    assert response.status_code == 200
    page = _text(response.text)
    assert "Ignored:" in page
    for item in ("status=bogus", "kind=nope", "sort=sideways", "currency=EUROS"):
        assert item in page
    assert _count(response.text) == DEMO_TITLES


def test_absurd_page_size_is_capped(client: TestClient, demo: Session) -> None:
    response = client.get("/commitments?size=1000000000000")
    assert response.status_code == 200
    assert f"the most is {browse.MAX_PAGE_SIZE} a page" in response.text


# --------------------------------------------------------------------- CSV


def test_csv_has_one_friendly_row_per_commitment(client: TestClient, demo: Session) -> None:
    response = client.get("/commitments.csv")
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    header = response.content.decode("utf-8-sig").splitlines()[0].split(",")
    assert header == browse.CSV_HEADER
    rows = _csv(client)
    assert len(rows) == DEMO_TITLES
    pledge = next(r for r in rows if r["title"].startswith("UK funding"))
    assert pledge["currency_1"] == "EUR"
    assert pledge["pledged_amount_1"] == "31400000.00"
    assert pledge["pledged_qualifier_1"] == "exact"
    # No payment recorded is an empty cell, not a payment of 0.00.
    assert pledge["paid_amount_1"] == ""
    assert pledge["paid_qualifier_1"] == ""
    assert pledge["currency_2"] == ""
    assert pledge["currency_count"] == "1"
    assert pledge["makers"] == "UK Home Office"
    assert pledge["recipients"] == "French Ministry of the Interior"
    assert pledge["permalink"].endswith(f"/commitments/{pledge['id']}")
    assert pledge["unsourced"] == "false"
    assert "joint statement" in pledge["sources"].lower()
    assert pledge["next_review_on"] == "2021-05-28"


@pytest.mark.parametrize("sort", sorted(browse.SORTS))
def test_csv_rows_come_in_the_list_order_for_every_sort(
    client: TestClient, demo: Session, sort: str
) -> None:
    query = f"?sort={sort}"
    csv_titles = [r["title"] for r in _csv(client, query)]
    html_titles = _titles(client.get(f"/commitments{query}&size=200").text)
    assert csv_titles == html_titles
    assert len(csv_titles) > 1


def test_csv_uses_the_same_filters_and_order(client: TestClient, demo: Session) -> None:
    rows = _csv(client, "?status=in_progress&sort=title")
    titles = [r["title"] for r in rows]
    assert len(titles) == 4
    assert titles == sorted(titles)
    html_titles = _titles(client.get("/commitments?status=in_progress&sort=title").text)
    assert titles == html_titles


def test_csv_neutralises_formulas(client: TestClient, session: Session) -> None:
    session.add(
        Commitment(
            kind="action",
            title='=HYPERLINK("http://evil")',
            announced_on=dt.date(2024, 1, 1),
            state=PublicationState.published,
        )
    )
    session.commit()
    rows = _csv(client)
    assert rows[0]["title"] == '\'=HYPERLINK("http://evil")'


def _csv_commitment(session: Session, title: str) -> Commitment:
    commitment = Commitment(
        kind="funding",
        title=title,
        announced_on=dt.date(2024, 1, 1),
        state=PublicationState.published,
    )
    session.add(commitment)
    session.flush()
    return commitment


def test_csv_money_keeps_qualifiers_and_tells_none_from_zero(
    client: TestClient, session: Session
) -> None:
    c = _csv_commitment(session, "Money in three currencies")

    def flow(stage: str, minor: int, currency: str, qualifier: str = "exact") -> MoneyFlow:
        return MoneyFlow(
            commitment_id=c.id,
            stage=stage,
            amount_minor=minor,
            currency=currency,
            qualifier=qualifier,
        )

    session.add_all(
        [
            # EUR: the pledge (up to 10m) is larger than the binding commitment
            # (5m), so it is the promise, with its qualifier; payments of which
            # one is approximate are approximate.
            flow("pledge", 1_000_000_000, "EUR", "up_to"),
            flow("commitment", 500_000_000, "EUR"),
            flow("disbursement", 100_000_000, "EUR", "approximately"),
            flow("disbursement", 100_000_000, "EUR"),
            # GBP: a ceiling and a floor added up are "mixed"; no payment
            # recorded is an empty cell.
            flow("pledge", 300, "GBP", "up_to"),
            flow("pledge", 200, "GBP", "at_least"),
            # AUD: the committed total is the promise when it is the larger.
            flow("commitment", 7, "AUD", "at_least"),
            flow("pledge", 5, "AUD"),
            # JPY and USD, past the three groups (alphabetical): only counted.
            flow("disbursement", 0, "JPY"),
            flow("pledge", 1, "USD"),
        ]
    )
    session.commit()
    row = next(r for r in _csv(client) if r["title"] == "Money in three currencies")
    assert row["currency_count"] == "5"
    groups = [
        [row[f"{name}_{n}"] for name in browse.CSV_MONEY_COLUMNS]
        for n in range(1, browse.CSV_CURRENCY_GROUPS + 1)
    ]
    assert groups == [
        ["AUD", "0.07", "at_least", "", ""],
        ["EUR", "10000000.00", "up_to", "2000000.00", "approximately"],
        ["GBP", "5.00", "mixed", "", ""],
    ]
    # The header names every column of every group, in that order.
    first_money = browse.CSV_HEADER.index("currency_1")
    assert browse.CSV_HEADER[first_money : first_money + 5] == [
        "currency_1",
        "pledged_amount_1",
        "pledged_qualifier_1",
        "paid_amount_1",
        "paid_qualifier_1",
    ]


def test_csv_zero_payment_and_payments_only(client: TestClient, session: Session) -> None:
    c = _csv_commitment(session, "Paid but never pledged")
    session.add(MoneyFlow(commitment_id=c.id, stage="disbursement", amount_minor=0, currency="JPY"))
    session.commit()
    row = next(r for r in _csv(client) if r["title"] == "Paid but never pledged")
    assert [row[f"{name}_1"] for name in browse.CSV_MONEY_COLUMNS] == [
        "JPY",
        "",
        "",
        "0",
        "exact",
    ]


def test_csv_names_sorted_and_sources_listed_once(client: TestClient, session: Session) -> None:
    c = _csv_commitment(session, "Names in order")
    actors = [Actor(name=name, kind="government") for name in ("Zeta", "Alpha", "Mu", "Beta")]
    tags = [Tag(slug=slug, name=slug.title()) for slug in ("zulu", "alpha", "mike")]
    published = {
        "state": PublicationState.published,
        "published_at": dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    }
    first = Source(title="First source", kind="joint_statement", **published)
    second = Source(title="=Second source", kind="joint_statement", **published)
    session.add_all([*actors, *tags, first, second])
    session.flush()
    for actor, role in zip(actors, ("maker", "maker", "recipient", "recipient"), strict=True):
        session.add(CommitmentActor(commitment_id=c.id, actor_id=actor.id, role=role))
    for tag in tags:
        session.add(CommitmentTag(commitment_id=c.id, tag_id=tag.id))
    flow = MoneyFlow(commitment_id=c.id, stage="pledge", amount_minor=1, currency="EUR")
    session.add(flow)
    session.flush()
    session.add_all(
        [
            Citation(source_id=second.id, quote="b", commitment_id=c.id),
            Citation(source_id=first.id, quote="a", commitment_id=c.id),
            Citation(source_id=second.id, quote="c", money_flow_id=flow.id),
            Citation(source_id=first.id, quote="d", money_flow_id=flow.id),
        ]
    )
    session.commit()
    row = next(r for r in _csv(client) if r["title"] == "Names in order")
    assert row["makers"] == "Alpha; Zeta"
    assert row["recipients"] == "Beta; Mu"
    assert row["tags"] == "Alpha; Mike; Zulu"
    # Each source once however many quotes (of the commitment and of its
    # money) cite it, in the order the sources were recorded.
    assert row["sources"] == "First source; =Second source"
    assert row["unsourced"] == "false"


def test_csv_codes_written_as_stored_cannot_start_a_formula() -> None:
    # Kind, status, precisions and currencies skip the formula guard in the
    # export because the database holds them to these codes.
    from app.csvutil import NEEDS_GUARD
    from app.periods import Precision
    from app.vocab import CommitmentKind, DeliveryStatus

    for code in [*CommitmentKind, *DeliveryStatus, *Precision]:
        assert str(code)[:1] not in NEEDS_GUARD, code
        assert str(code) == str(code).strip().lower()


# ------------------------------------------------------ other browse pages


def test_sources_actors_and_indicator_pages(client: TestClient, demo: Session) -> None:
    sources = client.get("/sources")
    assert sources.status_code == 200
    source_link = re.search(r'href="(/sources/\d+)"', sources.text)
    assert source_link
    source = _text(client.get(source_link.group(1)).text)
    assert "What it supports" in source
    assert "UK funding of €31.4 million" in source

    actors = client.get("/actors")
    assert actors.status_code == 200
    home_office = demo.scalars(select(Actor).where(Actor.name == "UK Home Office")).one()
    actor = _text(client.get(f"/actors/{home_office.id}").text)
    assert "Provided by" in actor
    assert "€31.4 million" in actor
    assert "Commitments made (10)" in actor

    indicator_link = re.search(
        r'href="(/indicators/\d+)"',
        client.get(f"/commitments?maker={home_office.id}&q=operational").text
        + client.get(
            "/commitments/"
            + str(
                demo.scalars(
                    select(Commitment.id).where(Commitment.title.like("New UK–France joint%"))
                ).one()
            )
        ).text,
    )
    assert indicator_link
    indicator = client.get(indicator_link.group(1))
    assert indicator.status_code == 200
    assert '<svg class="chart" role="img"' in indicator.text
    assert "<table" in indicator.text


@pytest.mark.parametrize("path", ["/sources/999999", "/actors/999999", "/indicators/999999"])
def test_missing_records_are_404(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 404


def test_dashboard_has_status_chart_and_table(client: TestClient, demo: Session) -> None:
    html = client.get("/").text
    assert '<svg class="chart" role="img"' in html
    assert "Published commitments by delivery status" in html
    assert 'href="/commitments?status=in_progress"' in html
