"""Money: integer minor units with a currency. No float ever touches an amount.

The one home of the money rules: the `Money` value, largest-remainder splits, the split of a
member's fee (`fee_split`), parsing what people type (`Money.parse`) and formatting amounts
and basis points in the configured locale (`Money.format`, `format_bp`). No Flask, no domain.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal, localcontext
from functools import lru_cache, total_ordering

from babel.core import Locale
from babel.numbers import (
    NumberFormatError,
    format_currency,
    format_decimal,
    get_currency_precision,
    get_currency_symbol,
    get_decimal_symbol,
    get_group_symbol,
    get_minus_sign_symbol,
    parse_decimal,
)

# What a BigInteger column holds: no amount beyond it can be booked.
MAX_CENTS = 2**63 - 1
# Basis points in a whole (100 %).
BP_WHOLE = 10_000
# Longer than any amount a BigInteger holds, grouped and with a symbol: refuse before parsing.
_MAX_TEXT = 48

# The locale amounts are formatted in when a caller names none: the app sets it to its
# LOCALE setting whenever an app context starts, so services' messages read like the pages.
_LOCALE: ContextVar[str] = ContextVar("money_locale", default="en_US")


def set_default_locale(locale: str) -> None:
    """Format amounts in this locale from now on in this context (the app calls this)."""
    Locale.parse(locale)  # fail early on a locale Babel does not know
    _LOCALE.set(locale)


def default_locale() -> str:
    """The locale amounts are formatted in when no locale is named."""
    return _LOCALE.get()


class AmountError(ValueError):
    """Typed text that is not an amount we can book; the message says why, for a person."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def precision(currency: str) -> int:
    """Digits after the decimal point in the currency's minor unit (USD 2, JPY 0, KWD 3)."""
    return int(get_currency_precision(currency.upper()))


class CurrencyMismatch(ValueError):
    """Two amounts in different currencies were combined."""


@total_ordering
@dataclass(frozen=True, slots=True)
class Money:
    """An immutable amount in minor units (cents) of one currency."""

    cents: int
    currency: str = "usd"

    def __post_init__(self) -> None:
        if isinstance(self.cents, bool) or not isinstance(self.cents, int):
            raise TypeError(f"Money needs whole minor units (int), got {type(self.cents).__name__}")
        if not (isinstance(self.currency, str) and len(self.currency) == 3):
            raise ValueError(f"currency must be a 3-letter ISO code, got {self.currency!r}")
        object.__setattr__(self, "currency", self.currency.lower())

    @classmethod
    def zero(cls, currency: str = "usd") -> Money:
        """Nothing, in the given currency."""
        return cls(0, currency)

    def _same(self, other: object) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatch(f"cannot combine {self.currency} with {other.currency}")
        return other

    def __add__(self, other: Money) -> Money:
        return Money(self.cents + self._same(other).cents, self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(self.cents - self._same(other).cents, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.cents, self.currency)

    def __mul__(self, factor: int) -> Money:
        if isinstance(factor, bool) or not isinstance(factor, int):
            raise TypeError("Money can only be multiplied by a whole number; use split() to divide")
        return Money(self.cents * factor, self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        return self.cents < self._same(other).cents

    def __bool__(self) -> bool:
        return self.cents != 0

    def split(self, weights: int | Sequence[int]) -> list[Money]:
        """Split into parts proportional to integer weights (or n equal parts).

        Largest remainder: each part gets its floor, then the leftover cents go one by one
        to the largest remainders, earlier parts first on ties. The parts sum exactly.
        """
        if isinstance(weights, int):
            if weights <= 0:
                raise ValueError("cannot split into fewer than one part")
            weights = [1] * weights
        return [Money(c, self.currency) for c in largest_remainder(self.cents, weights)]

    def decimal(self) -> Decimal:
        """The amount in major units, exactly (for display and export only)."""
        return Decimal(self.cents).scaleb(-precision(self.currency))

    def format(self, locale: str | None = None) -> str:
        """Human form in the locale (default: the configured one), e.g. $1,350.00."""
        return _formatted(self.cents, self.currency, locale or default_locale())

    def plain(self, locale: str | None = None) -> str:
        """The amount as a person would type it back into a form, e.g. 1,350.00 (no symbol)."""
        where = Locale.parse(locale or default_locale())
        # The locale's own grouping (1,00,000 in en_IN) so that parse() reads it back, with
        # exactly the currency's decimals; a pattern without the currency sign shows none.
        pattern = where.decimal_formats[None]
        return format_currency(
            self.decimal(),
            self.currency.upper(),
            format=pattern,
            locale=where,
            currency_digits=True,
        )

    @classmethod
    def parse(
        cls,
        text: str,
        currency: str = "usd",
        locale: str | None = None,
        *,
        negative: bool = False,
        maximum: int = MAX_CENTS,
    ) -> Money:
        """An amount typed by a person ("12", "12.3", "$1,234.50"); AmountError saying why not.

        Refuses what would be booked as anything but what was typed: more decimals than the
        currency's minor unit (1.005 dollars), NaN, infinities, exponents, a negative amount
        unless `negative`, and amounts beyond `maximum` minor units (at most what the
        database holds).
        """
        return _parse(text, currency.lower(), locale or default_locale(), negative, maximum)

    def __str__(self) -> str:
        return self.format()


def largest_remainder(total: int, weights: Sequence[int]) -> list[int]:
    """Apportion an integer total by integer weights; ties go to the earlier index."""
    if any(isinstance(w, bool) or not isinstance(w, int) for w in weights):
        raise TypeError("weights must be whole numbers")
    if not weights:
        raise ValueError("cannot split into zero parts")
    if any(w < 0 for w in weights):
        raise ValueError("weights cannot be negative")
    weight_sum = sum(weights)
    if weight_sum == 0:
        raise ValueError("weights sum to zero")
    sign = -1 if total < 0 else 1
    magnitude = abs(total)
    floors = [magnitude * w // weight_sum for w in weights]
    remainders = [magnitude * w % weight_sum for w in weights]
    leftover = magnitude - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in order[:leftover]:
        floors[i] += 1
    assert sum(floors) == magnitude
    return [sign * f for f in floors]


@dataclass(frozen=True, slots=True)
class FeeSplit:
    """One fee's two parts: the month's pool and the operations reserve."""

    pool: Money
    reserve: Money


def fee_split(fee: Money, ops_share_bp: int) -> FeeSplit:
    """Split one fee into pool and reserve by largest remainder: the rule the books use.

    Every page that shows a part of a fee takes it from here, so it equals the booked figure
    (499 cents at 1500 bp: 424 to the pool, 75 to the reserve).
    """
    if isinstance(ops_share_bp, bool) or not isinstance(ops_share_bp, int):
        raise TypeError("the operations share must be whole basis points")
    if not 0 <= ops_share_bp <= BP_WHOLE:
        raise ValueError(f"the operations share must be between 0 and {BP_WHOLE} basis points")
    pool, reserve = fee.split([BP_WHOLE - ops_share_bp, ops_share_bp])
    return FeeSplit(pool, reserve)


def format_bp(bp: int, locale: str | None = None) -> str:
    """Basis points as a percentage in the locale, trailing zeros dropped: 1250 -> 12.5 %."""
    if isinstance(bp, bool) or not isinstance(bp, int):
        raise TypeError("basis points are whole numbers")
    number = format_decimal(
        Decimal(bp).scaleb(-2), format="#,##0.##", locale=locale or default_locale()
    )
    return f"{number} %"


def _example(currency: str, locale: str) -> str:
    """1,234.50 as this currency is written: 1,234 yen, 1,234.500 dinars."""
    digits = precision(currency)
    cents = 1234 * 10**digits + (5 * 10 ** (digits - 1) if digits else 0)
    return Money(cents, currency).plain(locale)


def _strip_symbol(text: str, currency: str, locale: str) -> str:
    """Drop the currency's symbol or code before or after the number ($12, 12 USD)."""
    marks = {get_currency_symbol(currency.upper(), locale), currency.upper(), currency}
    for mark in sorted(marks, key=len, reverse=True):  # US$ before $
        if text.startswith(mark):
            return text[len(mark) :].strip()
        if text.endswith(mark):
            return text[: -len(mark)].strip()
    return text


def _parse(text: str, currency: str, locale: str, negative: bool, maximum: int) -> Money:
    raw = (text or "").strip()
    if not raw:
        raise AmountError("Enter an amount.")
    example = _example(currency, locale)
    bad = f"{raw} is not an amount; write it like {example}."
    if len(raw) > _MAX_TEXT:
        raise AmountError(f"That is not an amount; write it like {example}.")
    value = _number(_strip_symbol(raw, currency, locale), locale, bad)
    return _to_money(raw, value, currency, negative, maximum)


def _number(text: str, locale: str, bad: str) -> Decimal:
    """A signed decimal written with the locale's separators; AmountError(bad) otherwise."""
    minus = get_minus_sign_symbol(locale)
    sign = -1 if text[:1] in {"-", minus} else 1
    if text[:1] in {"-", "+", minus}:
        text = text[1:].strip()
    group = get_group_symbol(locale)
    if group.isspace():  # people type any space where the locale groups with a thin one
        text = re.sub(r"\s", group, text)
    allowed = {group, get_decimal_symbol(locale)}
    # Only digits and the locale's separators: this refuses NaN, Infinity and 1e5, which
    # Decimal (and so Babel) would otherwise read as numbers.
    if not text or not all(ch.isdecimal() or ch in allowed for ch in text):
        raise AmountError(bad)
    try:
        return sign * parse_decimal(text, locale=locale, strict=True)
    except NumberFormatError:
        raise AmountError(bad) from None


def parse_bp(text: str, locale: str | None = None, maximum: int = BP_WHOLE) -> int:
    """A percentage typed by a person ("12.5", "12.5 %") in basis points; AmountError if not.

    Refuses more than two decimals (12.345 % is finer than a basis point), NaN, infinities,
    exponents, negatives and anything above `maximum` basis points (default 100 %).
    """
    raw = (text or "").strip()
    if not raw:
        raise AmountError("Enter a percentage.")
    locale = locale or default_locale()
    example = format_bp(1250, locale)
    bad = f"{raw} is not a percentage; write it like {example}."
    if len(raw) > _MAX_TEXT:
        raise AmountError(bad)
    value = _number(raw.removesuffix("%").strip(), locale, bad)
    with localcontext() as ctx:
        ctx.prec = _MAX_TEXT + 4  # exact: no rounding while scaling
        bp = value.scaleb(2)
        if not 0 <= bp <= maximum:
            top = format_bp(maximum, locale)
            raise AmountError(f"A percentage here is between 0 and {top}; {raw} is not.")
        if bp != bp.to_integral_value():
            raise AmountError(f"Percentages have at most 2 decimal places; {raw} has more.")
    return int(bp)


def _to_money(raw: str, value: Decimal, currency: str, negative: bool, maximum: int) -> Money:
    if value < 0 and not negative:
        raise AmountError("The amount cannot be negative.")
    digits = precision(currency)
    with localcontext() as ctx:
        ctx.prec = _MAX_TEXT + digits + 2  # exact: no rounding while scaling
        if abs(value) > Decimal(maximum).scaleb(-digits):
            top = Money(maximum, currency).format()
            raise AmountError(f"That amount is too large: at most {top}.")
        minor = value.scaleb(digits)
        if minor != minor.to_integral_value():
            code = currency.upper()
            if digits == 0:
                raise AmountError(f"{code} amounts are whole numbers; {raw} has decimals.")
            raise AmountError(
                f"{code} amounts have at most {digits} decimal places "
                f"(the smallest is {Money(1, currency).format()}); {raw} has more."
            )
    return Money(int(minor), currency)


@lru_cache(maxsize=8192)
def _formatted(cents: int, currency: str, locale: str) -> str:
    """Money.format's work, remembered: Babel takes ~0.1 ms an amount and a member page
    writes dozens of them, mostly the same few (the fee, its parts, the month's shares)."""
    return format_currency(Money(cents, currency).decimal(), currency.upper(), locale=locale)
