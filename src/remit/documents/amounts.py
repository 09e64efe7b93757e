"""Money as people read it: an amount in the currency's minor units, written in its major unit (pure).

Processors count in minor units (``1999`` is 19.99 USD); most currencies have two decimals, some none (yen,
won) and a few three (dinars). Invoices and mails show ``19.99 USD``, ``1,500 JPY``, ``1.250 KWD``.
"""

from __future__ import annotations

from decimal import Decimal

#: Currencies without a minor unit, as Stripe lists them.
ZERO_DECIMAL = frozenset(
    {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"}
)
#: Currencies with three decimals.
THREE_DECIMAL = frozenset({"bhd", "jod", "kwd", "omr", "tnd"})


def decimals(currency: str) -> int:
    """How many decimals ``currency`` (any case) is written with."""
    code = currency.lower()
    if code in ZERO_DECIMAL:
        return 0
    return 3 if code in THREE_DECIMAL else 2


def format_amount(amount: int, currency: str) -> str:
    """``1999, "usd"`` → ``19.99 USD``; negative amounts (credits) keep their sign: ``-5.00 USD``."""
    places = decimals(currency)
    value = Decimal(amount).scaleb(-places)
    return f"{value:,.{places}f} {currency.upper()}"


__all__ = ["THREE_DECIMAL", "ZERO_DECIMAL", "decimals", "format_amount"]
