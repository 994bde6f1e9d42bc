"""Money in the sandbox: what Sage accepts on input and how it writes amounts back.

Sage's description types amounts as `number`, but its service (a Rails app) writes decimals as strings and
clients send either form (the seed sends `"unit_price": "25.99"`). So the sandbox accepts a JSON number or a
decimal string and always answers a string with two places. Floats never take part in arithmetic.
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


class InvalidAmount(ValueError):
    pass


def to_decimal(value: object) -> Decimal:
    """Read an amount given as a JSON number or a decimal string; raise InvalidAmount otherwise."""
    if isinstance(value, bool) or value is None:
        raise InvalidAmount(value)
    if isinstance(value, int | Decimal):
        number = Decimal(value)
    elif isinstance(value, float):
        # str() gives the shortest repr, so 25.99 stays 25.99 instead of 25.989999…
        number = Decimal(str(value))
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation as error:
            raise InvalidAmount(value) from error
    else:
        raise InvalidAmount(value)
    if not number.is_finite():
        raise InvalidAmount(value)
    return number


def round_money(value: Decimal) -> Decimal:
    """Half-up to the cent, as accounting does (banker's rounding would surprise a bookkeeper)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def format_amount(value: Decimal | None) -> str | None:
    """Sage's wire form: a decimal string with two places (`"25.99"`)."""
    if value is None:
        return None
    return str(round_money(Decimal(value)))


# Sage businesses trade in their country's currency; the sandbox keeps to that (no foreign currency).
CURRENCY_BY_COUNTRY = {
    "GB": "GBP",
    "IE": "EUR",
    "US": "USD",
    "CA": "CAD",
    "DE": "EUR",
    "ES": "EUR",
    "FR": "EUR",
}


def currency_for_country(country_code: str) -> str:
    return CURRENCY_BY_COUNTRY.get(country_code, "EUR")
