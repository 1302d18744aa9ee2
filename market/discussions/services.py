"""Comment threads: post, reply, edit within a window, delete (soft). Flush, never commit.

A thread belongs to a subject (kind + id) that its package registers with a resolver; the
resolver says whether the subject exists and where its page is. Reading and writing
comments is for members in good standing and admins (as the deliberation is).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from market.db import utcnow
from market.discussions.models import Comment
from market.errors import Conflict, DomainError, Forbidden, NotFound
from market.members.models import Member

MAX_COMMENT = 10_000
MAX_DEPTH = 4  # replies deeper than this are shown at this depth
DEFAULT_EDIT_MINUTES = 15
# Markdown's raw HTML is escaped and the output sanitised anyway; a comment that tries to
# carry script is refused outright, so the writer learns it will not run.
SCRIPTY = re.compile(
    r"(?i)<\s*/?\s*(script|iframe|object|embed|style|svg|math|form)\b"
    r"|\bon[a-z]+\s*=|(?:java|vb)script\s*:|data\s*:\s*text/html"
)


@dataclass(frozen=True)
class Subject:
    """What a thread is about, as its package resolves it."""

    kind: str
    id: int
    title: str
    link: str  # the subject's page (a site path); comments are anchors on it


Resolver = Callable[[Session, int], Subject | None]
_RESOLVERS: dict[str, Resolver] = {}


def register_subject(app: Any, kind: str, resolve: Resolver) -> None:
    """Let threads hang on subjects of this kind (the app argument marks who registers)."""
    app.extensions.setdefault("softcoop.threads", set()).add(kind)
    _RESOLVERS[kind] = resolve


def get_subject(session: Session, kind: str, subject_id: int) -> Subject:
    """The subject of a thread, or NotFound."""
    resolve = _RESOLVERS.get(kind)
    subject = resolve(session, subject_id) if resolve is not None else None
    if subject is None:
        raise NotFound("There is no such discussion.")
    return subject


def can_take_part(member: Member, now: datetime) -> bool:
    """Who reads and writes comments: members in good standing, and admins."""
    return member.is_admin or member.in_good_standing(now)


def _require_part(member: Member, now: datetime) -> None:
    if not can_take_part(member, now):
        raise Forbidden("Only members in good standing can take part in discussions.")


def _clean(body: str | None) -> str:
    text = (body or "").strip()
    if not text:
        raise DomainError("Please write your comment.")
    if len(text) > MAX_COMMENT:
        raise DomainError(
            f"A comment can have at most {MAX_COMMENT:,} characters (this one has {len(text):,})."
        )
    if SCRIPTY.search(text):
        raise DomainError(
            "Comments cannot carry HTML scripts, event handlers or script links. "
            "Write plain text or Markdown."
        )
    return text


def post_comment(
    session: Session,
    author: Member,
    subject: Subject,
    body: str | None,
    parent_id: int | None = None,
    now: datetime | None = None,
) -> Comment:
    """Add a comment to the subject's thread, or a reply to a comment of that same thread."""
    now = now or utcnow()
    _require_part(author, now)
    text = _clean(body)
    if parent_id is not None:
        parent = session.get(Comment, parent_id)
        if parent is None or (parent.subject_kind, parent.subject_id) != (subject.kind, subject.id):
            raise DomainError("You can only reply to a comment of this discussion.")
        if parent.deleted_at is not None:
            raise Conflict("That comment was deleted; reply to the discussion instead.")
    comment = Comment(
        subject_kind=subject.kind,
        subject_id=subject.id,
        parent_id=parent_id,
        author_id=author.id,
        body=text,
        created_at=now,
    )
    session.add(comment)
    session.flush()
    return comment


def get_comment(session: Session, comment_id: int) -> Comment:
    """A comment by id (NotFound otherwise)."""
    comment = session.get(Comment, comment_id)
    if comment is None:
        raise NotFound("No such comment.")
    return comment


def edit_window(config: Any = None) -> timedelta:
    """How long after posting an author may edit (COMMENT_EDIT_MINUTES)."""
    minutes = (config or {}).get("COMMENT_EDIT_MINUTES", DEFAULT_EDIT_MINUTES)
    return timedelta(minutes=int(minutes))


def can_edit(member: Member, comment: Comment, window: timedelta, now: datetime) -> bool:
    """The author, within the window, of a comment not deleted."""
    return (
        comment.author_id == member.id
        and comment.deleted_at is None
        and now <= comment.created_at + window
    )


def can_delete(member: Member, comment: Comment) -> bool:
    """The author or an admin, of a comment not yet deleted."""
    return comment.deleted_at is None and (member.is_admin or comment.author_id == member.id)


def edit_comment(
    session: Session,
    actor: Member,
    comment: Comment,
    body: str | None,
    window: timedelta,
    now: datetime | None = None,
) -> Comment:
    """Change one's own comment within the edit window."""
    now = now or utcnow()
    _require_part(actor, now)
    if comment.author_id != actor.id:
        raise Forbidden("You can only edit your own comments.")
    if comment.deleted_at is not None:
        raise Conflict("This comment was deleted.")
    if now > comment.created_at + window:
        minutes = int(window.total_seconds() // 60)
        raise Conflict(f"Comments can be edited for {minutes} minutes after posting.")
    comment.body = _clean(body)
    comment.edited_at = now
    session.flush()
    return comment


def delete_comment(
    session: Session, actor: Member, comment: Comment, now: datetime | None = None
) -> None:
    """Delete a comment (its author or an admin): its text goes, its place and replies stay."""
    now = now or utcnow()
    if not (actor.is_admin or comment.author_id == actor.id):
        raise Forbidden("Only the author or an admin can delete a comment.")
    if comment.deleted_at is not None:
        raise Conflict("This comment is already deleted.")
    comment.body = ""
    comment.deleted_at, comment.deleted_by_id = now, actor.id
    session.flush()


# ------------------------------------------------------------------ reading


@dataclass(frozen=True)
class CommentView:
    """One comment as the thread shows it to one reader."""

    id: int
    parent_id: int | None
    depth: int
    author_name: str
    body: str
    created_at: datetime
    edited: bool
    deleted: bool
    deleted_by_admin: bool
    can_edit: bool
    can_delete: bool
    can_reply: bool


@dataclass(frozen=True)
class Thread:
    """A subject's thread for one reader: comments in reading order (replies under parents)."""

    subject: Subject
    comments: list[CommentView]
    can_post: bool
    visible: bool  # False: the reader may not read it (counts only)
    count: int


def _ordered(comments: list[Comment]) -> list[tuple[Comment, int]]:
    children: dict[int | None, list[Comment]] = {}
    for c in comments:
        children.setdefault(c.parent_id, []).append(c)
    out: list[tuple[Comment, int]] = []

    def walk(parent: int | None, depth: int) -> None:
        for c in children.get(parent, []):
            out.append((c, depth))
            walk(c.id, min(depth + 1, MAX_DEPTH))

    walk(None, 0)
    return out


def thread(
    session: Session,
    reader: Member,
    subject: Subject,
    window: timedelta,
    now: datetime | None = None,
) -> Thread:
    """The subject's thread as `reader` may see it."""
    now = now or utcnow()
    rows = session.execute(
        select(Comment, Member.display_name, Member.is_admin)
        .join(Member, Member.id == Comment.author_id)
        .where(Comment.subject_kind == subject.kind, Comment.subject_id == subject.id)
        .order_by(Comment.id)
    ).all()
    count = sum(1 for c, _, _ in rows if c.deleted_at is None)
    if not can_take_part(reader, now):
        return Thread(subject, [], False, False, count)
    names = {c.id: name for c, name, _ in rows}
    deleters = {c.id: c.deleted_by_id for c, _, _ in rows}
    views = []
    for comment, depth in _ordered([c for c, _, _ in rows]):
        deleted = comment.deleted_at is not None
        views.append(
            CommentView(
                id=comment.id,
                parent_id=comment.parent_id,
                depth=depth,
                author_name="" if deleted else names[comment.id],
                body="" if deleted else comment.body,
                created_at=comment.created_at,
                edited=comment.edited_at is not None,
                deleted=deleted,
                deleted_by_admin=deleted and deleters[comment.id] != comment.author_id,
                can_edit=can_edit(reader, comment, window, now),
                can_delete=can_delete(reader, comment),
                can_reply=not deleted,
            )
        )
    return Thread(subject, views, True, True, count)


@dataclass(frozen=True)
class Activity:
    """A thread's size and newest comment, for lists of subjects."""

    comments: int
    last_at: datetime | None


def activity(session: Session, kind: str, ids: list[int]) -> dict[int, Activity]:
    """Comment counts and newest comment time per subject id (one query)."""
    if not ids:
        return {}
    rows = session.execute(
        select(Comment.subject_id, func.count(Comment.id), func.max(Comment.created_at))
        .where(
            Comment.subject_kind == kind,
            Comment.subject_id.in_(ids),
            Comment.deleted_at.is_(None),
        )
        .group_by(Comment.subject_id)
    ).all()
    return {sid: Activity(int(n), last) for sid, n, last in rows}
