"""Money on the web: the Jinja filters, the locale hook, and the form field for amounts.

Registered once by `init_app`. Templates write `{{ cents|money }}` (or the `money(cents)`
global), `{{ bp|bp }}` for basis points; forms take amounts with `MoneyField`. Everything is
in the app's CURRENCY and LOCALE, through the rules of `market.money`.
"""

from __future__ import annotations

from typing import Any

from babel.numbers import get_currency_symbol
from flask import Flask, appcontext_pushed, current_app
from wtforms import StringField

from market.money import (
    MAX_CENTS,
    AmountError,
    Money,
    format_bp,
    parse_bp,
    set_default_locale,
)


def currency() -> str:
    """The co-op's currency (the CURRENCY setting)."""
    return str(current_app.config["CURRENCY"])


def locale() -> str:
    """The locale pages and messages are written in (the LOCALE setting)."""
    return str(current_app.config["LOCALE"])


def currency_symbol() -> str:
    """The currency's sign as the locale writes it ($, €, ¥), for labels such as "Price ($)"."""
    return get_currency_symbol(currency().upper(), locale())


def money(cents: int, in_currency: str | None = None) -> str:
    """Minor units as the app shows money: $1,234.50 in en_US."""
    return Money(int(cents), in_currency or currency()).format(locale())


def percent(value: int) -> str:
    """Basis points as the app shows a share: 12.5 % from 1250."""
    return format_bp(int(value), locale())


def parse_amount(text: str, *, maximum: int = MAX_CENTS, negative: bool = False) -> Money:
    """An amount typed in the app's currency and locale; AmountError saying why not."""
    return Money.parse(text, currency(), locale(), negative=negative, maximum=maximum)


def plain(cents: int) -> str:
    """Minor units as a person types them into a form (1,234.50), for prefilling fields."""
    return Money(int(cents), currency()).plain(locale())


class MoneyField(StringField):
    """An amount in the app's currency; `data` is Money, or None when left empty.

    Refusals (1.005 dollars, NaN, 1e5, negative, too large, below `minimum`) are the field's
    errors, so the form fails validation and nothing is written. Pair it with InputRequired,
    not DataRequired (which would replace the reason with "This field is required").
    """

    def __init__(
        self,
        label: str | None = None,
        validators: Any = None,
        *,
        minimum: int = 0,
        maximum: int = MAX_CENTS,
        **kwargs: Any,
    ) -> None:
        super().__init__(label, validators, **kwargs)
        self.minimum, self.maximum = minimum, maximum

    def process_formdata(self, valuelist: list[Any]) -> None:
        """Parse the typed text; a ValueError becomes the field's error."""
        self.data = None
        text = str(valuelist[0]) if valuelist else ""
        if not text.strip():
            return
        try:
            amount = parse_amount(text, maximum=self.maximum)
        except AmountError as exc:
            raise ValueError(exc.message) from None
        if amount.cents < self.minimum:
            raise ValueError(f"The amount must be at least {money(self.minimum)}.")
        self.data = amount

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        return plain(self.data.cents) if isinstance(self.data, Money) else ""


class PercentField(StringField):
    """A percentage typed in the app's locale; `data` is basis points, or None when empty."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        """Parse the typed text; a ValueError becomes the field's error."""
        self.data = None
        text = str(valuelist[0]) if valuelist else ""
        if not text.strip():
            return
        try:
            self.data = parse_bp(text, locale())
        except AmountError as exc:
            raise ValueError(exc.message) from None

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        if isinstance(self.data, int):
            return format_bp(self.data, locale()).removesuffix(" %")
        return ""


def _use_app_locale(sender: Flask, **_: Any) -> None:
    """Services' messages format money like the pages: in the app's LOCALE."""
    set_default_locale(sender.config["LOCALE"])


def init_app(app: Flask) -> None:
    """Register the money and bp filters (and the money global) and the locale hook."""
    app.add_template_filter(money, "money")
    app.add_template_filter(percent, "bp")
    app.add_template_global(money, "money")
    app.add_template_global(currency_symbol, "currency_symbol")
    appcontext_pushed.connect(_use_app_locale, app)
