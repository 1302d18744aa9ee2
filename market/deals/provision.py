"""Putting what a deal bought into the catalogue.

The catalogue has no service to add stock outside its admin forms, so this minimal one
lives here (it only touches catalogue rows through their models). Seats: the product's
seat pool grows by the seats bought, in one atomic UPDATE so concurrent claims never see a
half-written count. Keys: the vendor hands over real keys after the deal (an admin imports
them on the catalogue's key import page), so nothing is invented here.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from catalog.models import Product, ProductKind


def add_seats(session: Session, product_id: int, seats: int) -> None:
    """Grow a seat product's pool by `seats`."""
    if seats < 0:
        raise ValueError("cannot provision a negative number of seats")
    session.execute(
        update(Product)
        .where(Product.id == product_id)
        .values(seats_total=Product.seats_total + seats)
        .execution_options(synchronize_session=False)
    )


def provision(session: Session, product: Product, seats: int) -> str:
    """Stock the catalogue with what the deal bought; a sentence saying what was done."""
    if product.kind == ProductKind.SEAT:
        add_seats(session, product.id, seats)
        session.refresh(product, ["seats_total"])
        return f"{seats} seats added to {product.name} (now {product.seats_total})."
    return (
        f"{seats} keys of {product.name} are due from the vendor; "
        "import them on the catalogue's key import page when they arrive."
    )
