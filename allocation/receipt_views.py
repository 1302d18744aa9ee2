"""Receipt pages: my receipts, find a receipt in an audit file, the standalone verify tool."""

from __future__ import annotations

from pathlib import Path

from flask import Response, current_app, render_template, request
from flask.typing import ResponseReturnValue

from allocation import receipts, rounds, verify_tool
from allocation.views import bp
from market.auth import current_member, public
from market.webdb import database, get_session


@bp.route("/my-receipts")
def my_receipts() -> ResponseReturnValue:
    listing = receipts.my_receipts(database(current_app), get_session(), current_member().id)
    return render_template("allocation/my_receipts.html", listing=listing)


@bp.route("/<int:round_id>/receipt")
@public
def find_receipt(round_id: int) -> ResponseReturnValue:
    session = get_session()
    rnd = rounds.get_published_round(session, round_id)
    receipt = request.args.get("r", "").strip().lower()
    found, error = None, ""
    if receipt and not receipts.well_formed(receipt):
        error = "A receipt is 64 characters, digits 0–9 and letters a–f. Check what you pasted."
    elif receipt:
        found = receipts.find_receipt(database(current_app), session, rnd, receipt)
    status = 400 if error else 200
    return render_template(
        "allocation/find_receipt.html", rnd=rnd, receipt=receipt, found=found, error=error
    ), status


@bp.route("/softcoop_verify.py")
@public
def verify_tool_file() -> ResponseReturnValue:
    # A small file read whole: no open handle outlives the request.
    return Response(
        Path(verify_tool.__file__).read_bytes(),
        mimetype="text/x-python",
        headers={"Content-Disposition": "attachment; filename=softcoop_verify.py"},
    )
