"""A big key file is imported by a job: the request stores it and answers at once; the
page follows the job with a progress bar and then shows what it did."""

from __future__ import annotations

import io
import json
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from market.filestore import StoredFile
from market.jobs import files
from market.jobs.models import JobRun
from market.webdb import database
from tests.catalog.factories import make_product
from tests.catalog.test_key_import import keys_of
from tests.market.factories import make_member

Login = Callable[..., FlaskClient]


def _big_app(make_app: Callable[..., Flask]) -> Flask:
    # Any file over 64 bytes goes to the job (the real threshold is 64 KiB).
    return make_app(KEY_IMPORT_INLINE_BYTES=64)


def _upload(client: FlaskClient, product_id: int, data: bytes, skip_bad: bool = False) -> object:
    form: dict[str, object] = {"file": (io.BytesIO(data), "big.csv")}
    if skip_bad:
        form["skip_bad"] = "y"
    return client.post(
        f"/admin/catalog/products/{product_id}/keys", data=form, content_type="multipart/form-data"
    )


def test_a_big_file_is_imported_by_a_job_and_the_page_shows_the_outcome(
    make_app: Callable[..., Flask], session: Session, login: Login
) -> None:
    app = _big_app(make_app)
    admin = login(make_member(session, admin=True), app.test_client())
    product = make_product(session)
    session.commit()
    data = "key\n" + "".join(f"BIG-{i:06d}\n" for i in range(300))
    response = _upload(admin, product.id, data.encode())
    assert response.status_code == 302  # type: ignore[attr-defined]
    status_url = response.headers["Location"]  # type: ignore[attr-defined]
    assert "/admin/catalog/imports/" in status_url
    page = admin.get(status_url).get_data(as_text=True)
    assert f"Imported 300 key(s) for {product.name}." in page
    keys = keys_of(session, product)
    assert len(keys) == 300 and keys[0] == "BIG-000000"
    state = admin.get(status_url + "/progress.json").get_json()
    assert state["done"] and state["percent"] == 100 and not state["failed"]
    # The run is on the Jobs page's table like any other job.
    file_id = int(status_url.rstrip("/").rsplit("/", 1)[1])
    run = session.query(JobRun).filter_by(job=files.IMPORT_JOB, target_id=file_id).one()
    assert run.status == "succeeded" and "Imported 300" in run.message
    # Delivered again (a worker killed after it committed): nothing is imported twice.
    again = files.import_keys_job(app, file_id, run.created_at, lambda *_a: None)
    assert again.startswith("Imported 300") and len(keys_of(session, product)) == 300


def test_a_big_file_with_rejected_rows_imports_nothing_and_lists_them(
    make_app: Callable[..., Flask], session: Session, login: Login
) -> None:
    app = _big_app(make_app)
    admin = login(make_member(session, admin=True), app.test_client())
    product = make_product(session)
    session.commit()
    data = "".join(f"OK-{i:04d}\n" for i in range(50)) + "OK-0001\n\n"
    response = _upload(admin, product.id, data.encode())
    page = admin.get(response.headers["Location"]).get_data(as_text=True)  # type: ignore[attr-defined]
    assert "Nothing was imported: 2 of 52 rows were rejected." in page
    assert '<td class="num">51</td>' in page and '<td class="num">52</td>' in page
    assert keys_of(session, product) == []
    # Ticking "import the valid rows" imports the 50 good ones.
    response = _upload(admin, product.id, data.encode(), skip_bad=True)
    page = admin.get(response.headers["Location"]).get_data(as_text=True)  # type: ignore[attr-defined]
    assert "Imported 50 key(s)" in page and "skipped 2 rejected row(s)" in page
    assert len(keys_of(session, product)) == 50


def test_a_big_file_that_is_not_utf8_is_refused_without_retrying(
    make_app: Callable[..., Flask], session: Session, login: Login
) -> None:
    app = _big_app(make_app)
    admin = login(make_member(session, admin=True), app.test_client())
    product = make_product(session)
    session.commit()
    response = _upload(admin, product.id, b"\xff\xfe" + b"K\x00E\x00Y\x00\n\x00" * 40)
    page = admin.get(response.headers["Location"]).get_data(as_text=True)  # type: ignore[attr-defined]
    assert "UTF-8" in page and keys_of(session, product) == []
    upload = session.query(StoredFile).filter(StoredFile.name.like("upload/keys-%")).one()
    assert json.loads(upload.meta)["result"]["refused"] is True
    run = session.query(JobRun).filter_by(job=files.IMPORT_JOB, target_id=upload.id).one()
    assert run.status == "succeeded" and run.attempts == 1


def test_an_import_page_of_another_kind_of_file_is_not_found(
    make_app: Callable[..., Flask], session: Session, login: Login
) -> None:
    app = _big_app(make_app)
    admin = login(make_member(session, admin=True), app.test_client())
    with database(app).transaction() as s:
        from market import filestore

        other = filestore.put(s, "export/ledger-x.csv", b"a\n", meta='{"kind": "ledger-export"}')
        other_id = other.id
    assert admin.get(f"/admin/catalog/imports/{other_id}").status_code == 404
    assert admin.get("/admin/catalog/imports/999999").status_code == 404
    member = login(make_member(session), app.test_client())
    assert member.get(f"/admin/catalog/imports/{other_id}").status_code in (403, 404)
