"""Money: integer minor units with a currency. No float ever touches an amount."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import total_ordering

from babel.numbers import format_currency, get_currency_precision


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
        return Decimal(self.cents).scaleb(-get_currency_precision(self.currency.upper()))

    def format(self, locale: str = "en_US") -> str:
        """Human form, e.g. $1,350.00."""
        return format_currency(self.decimal(), self.currency.upper(), locale=locale)

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
