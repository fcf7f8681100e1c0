"""Words for pages: turn records and service results into sentences a reader can trust.

Pure functions, no queries. Templates reach them through globals and filters
registered in `app.web.templating`, bound to the site's locale.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from app import money
from app.models import MoneyFlow
from app.services.totals import CurrencyProgress
from app.vocab import AmountQualifier, FlowStage


def combined_qualifier(qualifiers: Iterable[str]) -> str:
    """What a sum of amounts with these qualifiers is.

    One "up to" makes the sum a ceiling and one "at least" a floor (both: "mixed");
    otherwise one "approximately" makes it approximate.
    """
    found = set(qualifiers)
    up_to = AmountQualifier.up_to in found
    at_least = AmountQualifier.at_least in found
    if up_to and at_least:
        return "mixed"
    if up_to:
        return AmountQualifier.up_to.value
    if at_least:
        return AmountQualifier.at_least.value
    if AmountQualifier.approximately in found:
        return AmountQualifier.approximately.value
    return AmountQualifier.exact.value


def qualified_money(amount: Decimal, currency: str, qualifier: str, locale: str) -> str:
    """'up to £10.5 million', 'approx. €2.0 million', '€31.4 million'."""
    text = money.format_money(amount, currency, style="long", locale=locale)
    if qualifier == "mixed":
        return f"{text} (some amounts ceilings, some floors)"
    label = AmountQualifier(qualifier).label
    return f"{label} {text}" if label else text


def money_summary(progress: CurrencyProgress, flows: Iterable[MoneyFlow], locale: str) -> str:
    """One currency's promise and payments in words, keeping each figure's qualifier.

    The promise is the larger of the pledged and committed totals (as in
    `totals.progress_by_currency`); its qualifier comes from the flows of that
    stage. A missing stage reads "no … recorded": the record holds no such flow,
    which is not the same as nothing having been paid.
    """
    currency = progress.currency
    mine = [f for f in flows if f.currency == currency]

    def qualifier_of(*stages: FlowStage) -> str:
        return combined_qualifier(f.qualifier for f in mine if FlowStage(f.stage) in stages)

    by_stage = progress.by_stage
    promise_stage = (
        FlowStage.pledge
        if by_stage[FlowStage.pledge] >= by_stage[FlowStage.commitment]
        else FlowStage.commitment
    )
    promised = (
        qualified_money(progress.promised, currency, qualifier_of(promise_stage), locale)
        if progress.promised
        else None
    )
    paid = (
        qualified_money(progress.paid, currency, qualifier_of(FlowStage.disbursement), locale)
        if progress.paid
        else None
    )
    if promised and paid:
        return f"{paid} paid of {promised} promised"
    if promised:
        return f"{promised} promised; no payment recorded"
    if paid:
        return (
            f"{paid} paid; no pledge or commitment recorded in {currency} "
            "(amounts in other currencies are not converted here)"
        )
    spent = by_stage[FlowStage.expenditure]
    text = f"no pledge, commitment or payment recorded in {currency}"
    if spent:
        spent_text = qualified_money(spent, currency, qualifier_of(FlowStage.expenditure), locale)
        return f"{spent_text} spent; {text}"
    return text
