"""Comments: one table for every thread (subject_kind + subject_id), replies by parent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from market.db import Base, UTCDateTime, utcnow


class Comment(Base):
    """A member's comment (Markdown, sanitised when rendered); deleted ones keep their place."""

    __tablename__ = "comment"
    __table_args__ = (
        Index("ix_comment_thread", "subject_kind", "subject_id", "id"),
        CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_own_parent"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_kind: Mapped[str] = mapped_column(String(32))  # e.g. 'proposal', 'deal_ballot'
    subject_id: Mapped[int] = mapped_column(Integer)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("comment.id", ondelete="CASCADE"), default=None, index=True
    )
    author_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    body: Mapped[str] = mapped_column(Text)  # emptied when deleted
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"), default=None)
