"""The comments a member wrote; leaving empties them, as the author deleting each would.

A thread keeps its shape (replies stay under their parent), and the emptied comments read
"deleted", signed by the tombstone's "Former member".
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from market.discussions.models import Comment
from market.personal import stamp


def export_comments(session: Session, member_id: int) -> list[dict[str, Any]]:
    comments = session.scalars(
        select(Comment).where(Comment.author_id == member_id).order_by(Comment.id)
    ).all()
    return [
        {
            "on": f"{c.subject_kind} {c.subject_id}",
            "in_reply_to": c.parent_id,
            "body": c.body,
            "written_at": stamp(c.created_at),
            "edited_at": stamp(c.edited_at),
            "deleted_at": stamp(c.deleted_at),
        }
        for c in comments
    ]


def erase_comments(session: Session, member_id: int, now: datetime) -> None:
    session.execute(
        update(Comment)
        .where(Comment.author_id == member_id, Comment.deleted_at.is_(None))
        .values(body="", deleted_at=now, deleted_by_id=member_id)
        .execution_options(synchronize_session=False)
    )
