"""The demo's catalogue chapters tell STORY.md's shelf and Nia's claims."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog import claims
from catalog.models import Channel, LicenceKey, Product, Vendor
from catalog.services import leader_ids
from market import demo
from market.members.models import Member


def test_demo_shelf_and_nias_claims(app: Flask, session: Session) -> None:
    with app.app_context():  # as under `flask demo load`
        demo.load(app)
    count = lambda model: session.scalar(select(func.count()).select_from(model)) or 0  # noqa: E731
    # Four bundlers' channels (and the acquisition reserve on the ballot beside them); twelve
    # vendors on the shelf, plus the budgeting app's maker from the deals chapter.
    kinds = session.scalars(select(Channel.kind).order_by(Channel.kind)).all()
    assert kinds == ["bundle"] * 4 + ["reserve"]
    assert count(Vendor) == 13
    assert 25 <= count(Product) <= 35
    assert count(LicenceKey) >= 2000
    leaders = {session.get(Vendor, i).name for i in leader_ids(session, 2000)}  # type: ignore[union-attr]
    assert leaders == {"Pixelforge", "Forgehub"}
    editor = session.scalar(select(Product).where(Product.name == "Pixelforge Offline Editor"))
    assert editor is not None and "offline editor" in editor.justification
    nia = session.scalar(select(Member).where(Member.email == demo.NIA_EMAIL))
    assert nia is not None
    held = {h.product_name for h in claims.my_licences(session, nia)}
    assert held == {"Vaultly Password Manager", "The Ledger Review"}
