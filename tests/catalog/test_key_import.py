"""Bulk key import from CSV, on the web and on the command line: all or nothing per file."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.models import LicenceKey, Product
from tests.catalog.factories import make_product
from tests.market.factories import make_member

Login = Callable[..., FlaskClient]


def keys_of(session: Session, product: Product) -> list[str]:
    query = select(LicenceKey.value).where(LicenceKey.product_id == product.id)
    return sorted(session.scalars(query.order_by(LicenceKey.value)))


def upload(client: FlaskClient, product: Product, data: bytes, skip_bad: bool = False) -> object:
    form: dict[str, object] = {"file": (io.BytesIO(data), "keys.csv")}
    if skip_bad:
        form["skip_bad"] = "y"
    return client.post(
        f"/admin/catalog/products/{product.id}/keys",
        data=form,
        content_type="multipart/form-data",
    )


def test_clean_file_with_bom_and_windows_line_endings_imports(
    client: FlaskClient, session: Session, login: Login
) -> None:
    login(make_member(session, admin=True))
    product = make_product(session)
    data = "\ufeffkey\r\nAAA-111\r\nBBB-222\r\n  CCC-333  \r\n".encode()
    response = upload(client, product, data)
    assert response.status_code == 200  # type: ignore[attr-defined]
    assert "Imported 3 keys" in response.get_data(as_text=True)  # type: ignore[attr-defined]
    assert keys_of(session, product) == ["AAA-111", "BBB-222", "CCC-333"]


def test_any_rejected_row_imports_nothing_and_lists_every_problem(
    client: FlaskClient, session: Session, login: Login
) -> None:
    login(make_member(session, admin=True))
    product = make_product(session, keys=1)  # KEY-<id>-00000 is in stock
    in_stock = keys_of(session, product)[0]
    data = f"NEW-1\nNEW-2\n\nNEW-1\n{in_stock}\n{'x' * 300}\n".encode()
    response = upload(client, product, data)
    page = response.get_data(as_text=True)  # type: ignore[attr-defined]
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert "Nothing was imported: 4 of 6 rows were rejected" in page
    for line, reason in [
        (3, "blank"),
        (4, "duplicate of line 1"),
        (5, "already in stock"),
        (6, "longer than 255 characters"),
    ]:
        assert f'<td class="num">{line}</td><td>{reason}</td>' in page, (line, reason)
    assert in_stock not in page  # even the admin's result page does not echo keys
    assert keys_of(session, product) == [in_stock]


def test_admin_may_import_the_valid_rows_and_skip_the_rest(
    client: FlaskClient, session: Session, login: Login
) -> None:
    login(make_member(session, admin=True))
    product = make_product(session)
    response = upload(client, product, b"NEW-1\nNEW-1\n\nNEW-2\n", skip_bad=True)
    page = response.get_data(as_text=True)  # type: ignore[attr-defined]
    assert "Imported 2 keys; skipped 2 rejected rows" in page
    assert keys_of(session, product) == ["NEW-1", "NEW-2"]


def test_invalid_utf8_refuses_the_whole_file(
    client: FlaskClient, session: Session, login: Login
) -> None:
    login(make_member(session, admin=True))
    product = make_product(session)
    response = upload(client, product, b"GOOD-1\nGOOD-2\nBAD-\xff\xfe\n")
    page = response.get_data(as_text=True)  # type: ignore[attr-defined]
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert "not valid UTF-8 (the first bad byte is on line 3)" in page
    assert keys_of(session, product) == []


def test_only_key_products_take_keys(client: FlaskClient, session: Session, login: Login) -> None:
    login(make_member(session, admin=True))
    seats = make_product(session, kind="seat", seats_total=4)
    response = upload(client, seats, b"K-1\n")
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert "Only key-pool products" in response.get_data(as_text=True)  # type: ignore[attr-defined]


def test_cli_import_with_progress_bar(app: Flask, session: Session, tmp_path: Path) -> None:
    product = make_product(session)
    session.commit()
    good = tmp_path / "good.csv"
    good.write_bytes(("\ufeff" + "".join(f"K-{i}\r\n" for i in range(1200))).encode())
    runner = app.test_cli_runner()
    result = runner.invoke(args=["licences", "import", str(good), "--product", str(product.id)])
    assert result.exit_code == 0, result.output
    assert "Imported 1200 key(s)" in result.output
    assert len(keys_of(session, product)) == 1200

    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"K-1\nK-new\n")
    result = runner.invoke(args=["licences", "import", str(bad), "--product", str(product.id)])
    assert result.exit_code == 1
    assert "line 1: rejected (already in stock)" in result.output
    assert "nothing imported" in result.output
    count = select(func.count()).where(LicenceKey.product_id == product.id)
    assert session.scalar(count) == 1200

    result = runner.invoke(
        args=["licences", "import", str(bad), "--product", str(product.id), "--skip-bad"]
    )
    assert result.exit_code == 0 and "Imported 1 key(s)" in result.output
    unknown = runner.invoke(args=["licences", "import", str(bad), "--product", "99999"])
    assert unknown.exit_code == 1 and "No such product" in unknown.output
