"""Volume price tiers: validation and the cost of a seat count. Pure: no Flask, no database.

A tier says "from this many seats, each seat costs this much" (per month, in cents). The
tier is chosen by the seat count bought, and *every* seat is priced at that tier's
per-seat price: 57 seats with tiers (1, 120), (50, 90), (150, 70) cost 57 x 90 = 5130.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from market.money import AmountError, Money

MAX_TIERS = 10
MAX_SEATS = 1_000_000
MAX_PRICE_CENTS = 100_000_000


class TierError(ValueError):
    """The tiers (or a price) are malformed; the message says how, for the vendor to read."""


@dataclass(frozen=True)
class Tier:
    """From `from_seats` seats on, each seat costs `per_seat_cents`."""

    from_seats: int
    per_seat_cents: int


def _whole(value: object, label: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TierError(f"{label} must be a whole number.")
    return value


def validate_tiers(tiers: Iterable[Tier], min_seats: int) -> list[Tier]:
    """The tiers in order if they are well formed, else TierError naming the first problem."""
    result = list(tiers)
    min_seats = _whole(min_seats, "Minimum seats")
    if not result:
        raise TierError("Give at least one price tier.")
    if len(result) > MAX_TIERS:
        raise TierError(f"Give at most {MAX_TIERS} price tiers.")
    if min_seats < 1:
        raise TierError("Minimum seats must be at least 1.")
    for tier in result:
        seats = _whole(tier.from_seats, "Seats")
        price = _whole(tier.per_seat_cents, "Prices (in cents)")
        if not 1 <= seats <= MAX_SEATS:
            raise TierError(f"Seat thresholds must be between 1 and {MAX_SEATS:,}.")
        if price < 0:
            raise TierError("Prices cannot be negative.")
        if price > MAX_PRICE_CENTS:
            raise TierError("That price is too large.")
    for before, after in zip(result, result[1:], strict=False):
        if after.from_seats <= before.from_seats:
            raise TierError("Seat thresholds must strictly increase from one tier to the next.")
        if after.per_seat_cents > before.per_seat_cents:
            raise TierError("The price per seat cannot rise as the number of seats grows.")
    if result[0].from_seats not in (1, min_seats):
        raise TierError("The first tier must start at 1 seat or at the minimum number of seats.")
    if min_seats > result[-1].from_seats:
        raise TierError(
            f"The minimum of {min_seats} seats is above the largest tier "
            f"({result[-1].from_seats} seats)."
        )
    return result


def tier_for(tiers: Sequence[Tier], seats: int) -> Tier:
    """The tier that prices `seats` seats: the one with the largest threshold not above it."""
    chosen = None
    for tier in tiers:
        if tier.from_seats <= seats:
            chosen = tier
    if chosen is None:
        raise TierError(f"No tier prices {seats} seats; the first starts at {tiers[0].from_seats}.")
    return chosen


def cost_cents(tiers: Sequence[Tier], min_seats: int, seats: int) -> int:
    """What `seats` seats cost per month, in cents; all seats at the chosen tier's price."""
    checked = validate_tiers(tiers, min_seats)
    seats = _whole(seats, "Seats")
    if seats < min_seats:
        raise TierError(f"The offer needs at least {min_seats} seats; {seats} is too few.")
    total = seats * tier_for(checked, seats).per_seat_cents
    assert total >= 0
    return total


def parse_price(text: str, currency: str = "usd", locale: str | None = None) -> int:
    """A price typed in major units ("1.20", "$0.9", "12") in minor units; TierError if not."""
    try:
        return Money.parse(text, currency, locale, maximum=MAX_PRICE_CENTS).cents
    except AmountError as exc:
        raise TierError(exc.message) from None


def to_json(tiers: Sequence[Tier]) -> list[list[int]]:
    """Tiers as plain JSON (a list of [from_seats, per_seat_cents])."""
    return [[t.from_seats, t.per_seat_cents] for t in tiers]


def from_json(data: object) -> list[Tier]:
    """Tiers back from JSON; TierError if the shape is wrong."""
    if not isinstance(data, list):
        raise TierError("Tiers must be a list.")
    tiers = []
    for item in data:
        if not isinstance(item, list | tuple) or len(item) != 2:
            raise TierError("Each tier is [from_seats, per_seat_cents].")
        tiers.append(Tier(_whole(item[0], "Seats"), _whole(item[1], "Prices (in cents)")))
    return tiers
