"""Words for pages: turn records and service results into sentences a reader can trust.

Pure functions, no queries. Templates reach them through globals and filters
registered in `app.web.templating`, bound to the site's locale.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from babel.dates import format_date, get_month_names
from markupsafe import Markup, escape

from app import money
from app.services.names import reference_table
from app.services.totals import CurrencyProgress, Total
from app.vocab import AmountQualifier, DeliveryStatus, FlowStage, qualifier_words


def qualified_money(amount: Decimal, currency: str, qualifier: str, locale: str) -> str:
    """'up to £10.5 million', 'approx. €2.0 million', '€31.4 million' (vocab.qualifier_words)."""
    text = money.format_money(amount, currency, style="long", locale=locale)
    words = qualifier_words(qualifier)
    return f"{words} {text}" if words else text


def total_text(total: Total | None, locale: str) -> str | None:
    """A total with its qualifier in words, or None when there is none."""
    if total is None or not total.minor:
        return None
    return qualified_money(total.amount, total.currency, total.qualifier, locale)


def money_summary(progress: CurrencyProgress, locale: str) -> str:
    """One currency's promise and payments in words, keeping each total's qualifier.

    The promise is `totals.promise_stage`'s (the larger of the pledged and
    committed totals). A missing stage reads "no … recorded": the record holds
    no such flow, which is not the same as nothing having been paid.
    """
    currency = progress.currency
    promised = total_text(progress.promise, locale) if progress.promise else None
    paid = total_text(progress.paid, locale)
    if promised and paid:
        return f"{paid} paid of {promised} promised"
    if promised:
        return f"{promised} promised; no payment recorded"
    if paid:
        return (
            f"{paid} paid; no pledge or commitment recorded in {currency} "
            "(amounts in other currencies are not converted here)"
        )
    text = f"no pledge, commitment or payment recorded in {currency}"
    spent = total_text(progress.by_stage.get(FlowStage.expenditure), locale)
    if spent:
        return f"{spent} spent; {text}"
    return text


# ------------------------------------------------------------- record history

# Snapshot fields holding a vocabulary value: shown with spaces, not underscores.
_VOCABULARY_FIELDS = frozenset({"kind", "stage", "state", "role", "scope", "action"})


def month_name(month: int, locale: str = "en_GB") -> str:
    """'April' for 4, in the site's locale; anything else as given."""
    if not 1 <= month <= 12:
        return str(month)
    return str(get_month_names("wide", context="stand-alone", locale=locale)[month])


def fiscal_year_text(start_month: int, locale: str = "en_GB") -> str:
    """'April (April–March)' for a year starting in April; January is the calendar year."""
    if start_month == 1:
        return f"{month_name(1, locale)} (the calendar year)"
    first, last = month_name(start_month, locale), month_name(start_month - 1, locale)
    return f"{first} ({first}–{last})"


def history_label(field: str) -> str:
    """'amount_minor' -> 'amount', 'provider_id' -> 'provider', 'is_additional' -> 'additional'."""
    special = {"makers": "made by", "recipients": "for", "reviewer_account_id": "reviewer"}
    if field in special:
        return special[field]
    name = field.removesuffix("_minor").removesuffix("_id").removeprefix("is_")
    return name.replace("_", " ")


def history_value(
    entity_type: str,
    field: str,
    value: Any,
    snapshot: dict[str, Any],
    names: dict[tuple[str, int], str],
    locale: str,
) -> Markup:
    """One value of a change snapshot as a reader would write it.

    Money in minor units with the snapshot's currency, ids as the names (and links)
    of records the reader may see, lists joined, flags yes/no, timestamps to the
    minute, dates in words. Anything unrecognised is shown as stored.
    """
    if value is None or value == "" or value == []:
        return Markup("")
    table = reference_table(entity_type, field)
    if table is not None:
        return Markup(", ").join(_record_link(table, v, names) for v in _as_list(value))
    if isinstance(value, bool):
        return escape("yes" if value else "no")
    if isinstance(value, list):
        return escape(", ".join(str(v) for v in value))
    if field == "reviewer_account_id":
        return escape("an editor")  # accounts are private; /changes names editors instead
    if field.endswith("_minor") and isinstance(value, int):
        currency = snapshot.get(field.removesuffix("_minor") + "_currency") or snapshot.get(
            "currency"
        )
        return escape(_minor_money(value, currency, locale))
    if field.endswith("start_month") and isinstance(value, int):
        return escape(month_name(value, locale))
    if isinstance(value, str):
        return escape(_text_value(field, value, locale))
    return escape(str(value))


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _record_link(table: str, record_id: Any, names: dict[tuple[str, int], str]) -> Markup:
    noun = table.removesuffix("s")
    if not isinstance(record_id, int):
        return escape(str(record_id))
    name = names.get((table, record_id))
    if name is None:
        # Not visible to this reader (a draft or deleted record), or gone: say what it was.
        return escape(f"{noun} {record_id}")
    return Markup('<a href="/{}/{}">{}</a>').format(table, record_id, name)


def _minor_money(minor: int, currency: Any, locale: str) -> str:
    if not isinstance(currency, str):
        return f"{minor} (minor units, currency not recorded)"
    try:
        amount = money.from_minor_units(minor, currency)
        return money.format_money(amount, currency, style="exact", locale=locale)
    except (money.MoneyError, ValueError, KeyError):
        return f"{minor} (minor units of {currency})"


def _text_value(field: str, value: str, locale: str) -> str:
    if field.endswith("_at"):
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
        if moment.tzinfo is not None:
            moment = moment.astimezone(dt.UTC)
        return format_date(moment.date(), "d MMMM y", locale=locale) + moment.strftime(" %H:%M UTC")
    if field.endswith("_on"):
        try:
            return str(format_date(dt.date.fromisoformat(value), "d MMMM y", locale=locale))
        except ValueError:
            return value
    if field in ("status", "status_found"):
        try:
            return DeliveryStatus(value).label
        except ValueError:
            return value
    if field == "qualifier":
        try:
            return AmountQualifier(value).label or "exact"
        except ValueError:
            return value
    if field in _VOCABULARY_FIELDS or field.endswith("_precision"):
        return value.replace("_", " ")
    return value
