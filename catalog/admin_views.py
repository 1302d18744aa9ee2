"""Admin pages: channels, vendors, products, key import, stock, seat-usage export."""

from __future__ import annotations

import io
import json
import secrets
from collections.abc import Callable
from typing import Any, TypeVar

from flask import (
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session
from wtforms import SelectChoice

from catalog import browse, services, waitlist
from catalog.forms import ChannelForm, KeyImportForm, ProductForm, VendorForm
from catalog.imports import import_keys
from catalog.models import Channel, Product, Vendor
from market import csvsafe, filestore
from market.auth import admin_blueprint, current_member
from market.errors import DomainError
from market.filestore import StoredFile
from market.money_web import percent
from market.plugins import background, notifier
from market.webdb import get_session

bp = admin_blueprint("admin_catalog", __name__, "/catalog")
T = TypeVar("T")
# Key files bigger than this (~2,000 keys) are imported by a job, off the request.
INLINE_BYTES = 64 * 1024
IMPORT_JOB = "catalog.import_keys"


def _leader_bp() -> int:
    return int(current_app.config["LEADER_SHARE_BP"])


def _status() -> int:
    return 400 if request.method == "POST" else 200


@bp.route("/")
def stock() -> ResponseReturnValue:
    lines = browse.stock(get_session(), _leader_bp())
    low = sum(1 for line in lines if line.low)
    return render_template("catalog/admin_stock.html", lines=lines, low=low)


# --- channels -------------------------------------------------------------------------


@bp.route("/channels")
def channels() -> ResponseReturnValue:
    return render_template(
        "catalog/admin_channels.html", channels=services.list_channels(get_session())
    )


@bp.route("/channels/new", methods=["GET", "POST"], defaults={"channel_id": None})
@bp.route("/channels/<int:channel_id>", methods=["GET", "POST"])
def channel_edit(channel_id: int | None) -> ResponseReturnValue:
    session = get_session()
    channel: Channel | None = None
    if channel_id is not None:
        channel = _or_404(lambda: services.get_channel(session, channel_id))
    form = ChannelForm(obj=channel)
    if form.validate_on_submit():
        data = services.ChannelInput(
            name=form.name.data or "",
            description=form.description.data or "",
            steward_contact=form.steward_contact.data or "",
            active=bool(form.active.data),
        )
        try:
            saved = services.save_channel(session, current_member(), data, channel)
        except DomainError as exc:
            form.form_errors.append(exc.message)
        else:
            flash(f"Saved channel {saved.name}.", "success")
            return redirect(url_for("admin_catalog.channels"))
    title = f"Edit {channel.name}" if channel else "New channel"
    return render_template(
        "catalog/admin_form.html", form=form, title=title, back=url_for("admin_catalog.channels")
    ), _status()


def _or_404(load: Callable[[], T]) -> T:
    """Load a row by a service's getter, answering 404 when it is not there."""
    try:
        return load()
    except DomainError as exc:
        abort(exc.status_code)


# --- vendors --------------------------------------------------------------------------


@bp.route("/vendors")
def vendors() -> ResponseReturnValue:
    session = get_session()
    return render_template(
        "catalog/admin_vendors.html",
        vendors=services.list_vendors(session),
        leaders=services.leader_ids(session, _leader_bp()),
        leader_bp=_leader_bp(),
    )


@bp.route("/vendors/new", methods=["GET", "POST"], defaults={"vendor_id": None})
@bp.route("/vendors/<int:vendor_id>", methods=["GET", "POST"])
def vendor_edit(vendor_id: int | None) -> ResponseReturnValue:
    session = get_session()
    vendor: Vendor | None = None
    if vendor_id is not None:
        vendor = _or_404(lambda: services.get_vendor(session, vendor_id))
    form = VendorForm(obj=vendor)
    if vendor is not None and request.method == "GET":
        form.market_share.data = vendor.market_share_bp
    if form.validate_on_submit():
        data = services.VendorInput(
            name=form.name.data or "",
            category=form.category.data or "",
            market_share_bp=form.market_share.data or 0,
            website=form.website.data or "",
            contact_email=form.contact_email.data or "",
        )
        try:
            saved = services.save_vendor(session, current_member(), data, vendor)
        except DomainError as exc:
            form.form_errors.append(exc.message)
        else:
            flash(f"Saved vendor {saved.name}.", "success")
            return redirect(url_for("admin_catalog.vendors"))
    title = f"Edit {vendor.name}" if vendor else "New vendor"
    return render_template(
        "catalog/admin_form.html", form=form, title=title, back=url_for("admin_catalog.vendors")
    ), _status()


@bp.route("/vendors/<int:vendor_id>/seats.csv")
def seat_usage(vendor_id: int) -> ResponseReturnValue:
    session = get_session()
    vendor = _or_404(lambda: services.get_vendor(session, vendor_id))
    out = io.StringIO()
    writer = csvsafe.writer(out, lineterminator="\r\n")
    writer.writerow(["product", "kind", "seats_total", "seats_used", "members_holding"])
    writer.writerows(browse.seat_usage(session, vendor.id))
    slug = "".join(c if c.isalnum() else "-" for c in vendor.name.lower()).strip("-")
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="seats-{slug or vendor.id}.csv"'},
    )


# --- products -------------------------------------------------------------------------


def _product_form(product: Product | None) -> ProductForm:
    session = get_session()
    form = ProductForm(obj=product)
    form.vendor_id.choices = [
        SelectChoice(v.id, f"{v.name} ({v.category}, {percent(v.market_share_bp)})")  # type: ignore[arg-type]
        for v in services.list_vendors(session)
    ]
    form.channel_id.choices = [
        SelectChoice(c.id, c.name)  # type: ignore[arg-type]
        for c in services.list_channels(session)
    ]
    return form


def _product_input(form: ProductForm) -> services.ProductInput:
    return services.ProductInput(
        vendor_id=form.vendor_id.data or 0,
        channel_id=form.channel_id.data or 0,
        name=form.name.data or "",
        category=form.category.data or "",
        kind=form.kind.data or "",
        description=form.description.data or "",
        terms=form.terms.data or "",
        reassignable=bool(form.reassignable.data),
        seats_total=form.seats_total.data or 0,
        redemption_url=form.redemption_url.data or "",
        justification=form.justification.data or "",
        active=bool(form.active.data),
    )


@bp.route("/products/new", methods=["GET", "POST"], defaults={"product_id": None})
@bp.route("/products/<int:product_id>", methods=["GET", "POST"])
def product_edit(product_id: int | None) -> ResponseReturnValue:
    session = get_session()
    product: Product | None = None
    if product_id is not None:
        product = _or_404(lambda: services.get_product(session, product_id))
    form = _product_form(product)
    if form.validate_on_submit():
        try:
            saved = services.save_product(
                session, current_member(), _product_input(form), _leader_bp(), product
            )
        except DomainError as exc:
            form.form_errors.append(exc.message)
        else:
            waitlist.stock_arrived(session, saved, notifier(current_app))
            flash(f"Saved {saved.name}.", "success")
            return redirect(url_for("admin_catalog.stock"))
    title = f"Edit {product.name}" if product else "New product"
    extra = None
    if product is not None and product.kind == "key":
        extra = url_for("admin_catalog.import_keys_form", product_id=product.id)
    return render_template(
        "catalog/admin_form.html",
        form=form,
        title=title,
        import_url=extra,
        back=url_for("admin_catalog.stock"),
    ), _status()


def _store_upload(session: Session, product: Product, data: bytes, skip_bad: bool) -> StoredFile:
    """Keep a big upload in the database's file store, for the import job (on any host)."""
    info = {
        "kind": "key-import",
        "product_id": product.id,
        "actor_id": current_member().id,
        "skip_bad": skip_bad,
        "filename": (request.files["file"].filename or "keys.csv")[:120],
    }
    name = f"upload/keys-{product.id}-{secrets.token_hex(8)}.csv"
    return filestore.put(session, name, data, meta=json.dumps(info))


def _import_upload(file_id: int) -> tuple[StoredFile, dict[str, Any], Product]:
    session = get_session()
    upload = session.get(StoredFile, file_id)
    info = json.loads(upload.meta) if upload is not None else {}
    if upload is None or info.get("kind") != "key-import":
        abort(404)
    product = _or_404(lambda: services.get_product(session, int(info["product_id"])))
    return upload, info, product


@bp.route("/imports/<int:file_id>")
def import_status(file_id: int) -> ResponseReturnValue:
    """A big import's progress bar while its job runs, then what it did."""
    upload, info, product = _import_upload(file_id)
    progress = background(current_app).progress(get_session(), IMPORT_JOB, upload.id)
    return render_template(
        "catalog/admin_import_status.html",
        upload=upload,
        info=info,
        result=info.get("result"),
        product=product,
        progress=progress,
    )


@bp.route("/imports/<int:file_id>/progress.json")
def import_progress(file_id: int) -> ResponseReturnValue:
    """Where the import job is (the page's progress bar polls this)."""
    upload, _info, _product = _import_upload(file_id)
    state = background(current_app).progress(get_session(), IMPORT_JOB, upload.id)
    state["results_url"] = url_for("admin_catalog.import_status", file_id=file_id)
    return jsonify(state)


@bp.route("/products/<int:product_id>/keys", methods=["GET", "POST"])
def import_keys_form(product_id: int) -> ResponseReturnValue:
    session = get_session()
    product = _or_404(lambda: services.get_product(session, product_id))
    form = KeyImportForm()
    result = None
    if form.validate_on_submit():
        data = request.files["file"].read()
        if len(data) > current_app.config.get("KEY_IMPORT_INLINE_BYTES", INLINE_BYTES):
            upload = _store_upload(session, product, data, bool(form.skip_bad.data))
            background(current_app).start(IMPORT_JOB, upload.id)
            return redirect(url_for("admin_catalog.import_status", file_id=upload.id))
        try:
            result = import_keys(session, current_member(), product, data, bool(form.skip_bad.data))
        except DomainError as exc:
            form.form_errors.append(exc.message)
        else:
            waitlist.stock_arrived(session, product, notifier(current_app))
            status = 200 if result.imported or not result.rejected else 400
            return render_template(
                "catalog/admin_import.html", form=form, product=product, result=result
            ), status
    return render_template(
        "catalog/admin_import.html", form=form, product=product, result=result
    ), _status()
