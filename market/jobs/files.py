"""Jobs over files in the database's store: a big key import, a big ledger export.

The request stores what the job needs (the uploaded file; the export's filter) as a
stored file whose `meta` names the work, and queues a run with that file's id. The job
records its outcome in the same transaction as its effect (the keys and the result; the
export's bytes and "done"), so a worker killed midway leaves nothing half-done and a run
delivered twice finds the work done and does it no second time.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session

from catalog.imports import import_keys
from catalog.models import Product
from market import filestore
from market.books import reports
from market.errors import Conflict, DomainError, NotFound
from market.filestore import StoredFile
from market.members.models import Member
from market.webdb import database

IMPORT_JOB = "catalog.import_keys"
EXPORT_JOB = "ledger.export"
SHOWN_REJECTIONS = 500  # rows of rejections kept for the page (the count is always whole)


def meta(stored: StoredFile) -> dict[str, Any]:
    """What a stored file says it is for."""
    return dict(json.loads(stored.meta or "{}"))


def _file(session: Session, file_id: int | None, kind: str) -> StoredFile:
    stored = session.get(StoredFile, file_id) if file_id is not None else None
    if stored is None or meta(stored).get("kind") != kind:
        raise NotFound(f"There is no such {kind} file.")
    return stored


def import_keys_job(
    app: Flask, file_id: int | None, _now: datetime, progress: Callable[..., None]
) -> str:
    """Check and import an uploaded key file (all or nothing unless it said skip_bad)."""
    db = database(app)
    progress("check", 10)
    with db.transaction() as session:
        upload = _file(session, file_id, "key-import")
        info = meta(upload)
        if "result" in info:  # a run delivered twice: the first one imported it
            return str(info["result"]["summary"])
        product = session.get(Product, info["product_id"])
        actor = session.get(Member, info["actor_id"])
        if product is None or actor is None:
            raise NotFound("The product or the admin of this import no longer exists.")
        data = filestore.read_all(session, upload.id)
        try:
            with session.begin_nested():
                result = import_keys(session, actor, product, data, bool(info.get("skip_bad")))
        except Conflict:
            raise  # keys stocked by someone else at that moment: the retry runs it again
        except DomainError as exc:  # the file itself is refused (not UTF-8...): final
            info["result"] = {"summary": exc.message, "imported": 0, "rows": 0,
                              "rejected_count": 0, "rejected": [], "refused": True}  # fmt: skip
            upload.meta = json.dumps(info)
            return exc.message
        if result.imported:
            summary = f"Imported {result.imported} key(s) for {product.name}"
            summary += (
                f"; skipped {len(result.rejected)} rejected row(s)." if result.rejected else "."
            )
        elif result.rejected:
            summary = (
                f"Nothing was imported: {len(result.rejected)} of {result.rows} rows were rejected."
            )
        else:
            summary = "The file held no keys."
        info["result"] = {
            "summary": summary,
            "imported": result.imported,
            "rows": result.rows,
            "rejected_count": len(result.rejected),
            "rejected": [[r.line, r.reason] for r in result.rejected[:SHOWN_REJECTIONS]],
        }
        upload.meta = json.dumps(info)
    return summary


def export_ledger_job(
    app: Flask, file_id: int | None, _now: datetime, progress: Callable[..., None]
) -> str:
    """Write the ledger export the admin asked for into its stored file."""
    db = database(app)
    progress("write", 10)
    with db.transaction() as session:
        out = _file(session, file_id, "ledger-export")
        info = meta(out)
        if info.get("done"):
            return f"Exported {info['transactions']} transaction(s)."
        flt = reports.LedgerFilter(
            kind=info.get("filter_kind", ""),
            account=info.get("filter_account", ""),
            start=date.fromisoformat(info["start"]) if info.get("start") else None,
            end=date.fromisoformat(info["end"]) if info.get("end") else None,
        )
        writer = filestore.rewrite(session, out.id)
        for block in reports.csv_blocks(session, flt):
            data = block.encode()
            writer.write(data, data.count(b"\n"))
        writer.close()
        info.update(done=True, transactions=reports.export_size(session, flt))
        out.meta = json.dumps(info)
    return f"Exported {info['transactions']} transaction(s)."


def _never(_session: Session, _now: datetime) -> list[tuple[str, int | None]]:
    return []  # on request only


def _no_next(_session: Session, _now: datetime) -> datetime | None:
    return None


FILE_JOBS = [
    (IMPORT_JOB, "Import a key file", "when an admin uploads a large key file",
     import_keys_job, _never, _no_next),
    (EXPORT_JOB, "Export the ledger as CSV", "when an admin asks for a large export",
     export_ledger_job, _never, _no_next),
]  # fmt: skip
