"""Decisions through the API: proposals, their results, my position (the pages' services).

Who wrote what and who took which position is for members in good standing (and admins),
as on the pages; everyone else sees titles and counts.
"""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from market.api.problems import ApiProblem
from market.api.schemas import decisions as schemas
from market.api.tokens import api_member, member_key
from market.auth import api_scope
from market.clock import utcnow
from market.errors import NotFound
from market.extensions import throttle
from market.proposals import results as read
from market.proposals import services
from market.proposals.models import Proposal
from market.webdb import get_session

bp = Blueprint(
    "api_decisions",
    __name__,
    url_prefix="/api/v1/proposals",
    description="Decisions: proposals and positions (read or member scope).",
)


def _load(proposal_id: int) -> Proposal:
    try:
        return services.get_proposal_for_member(get_session(), api_member(), proposal_id)
    except NotFound:
        raise ApiProblem(404, "No such proposal.") from None


def _out(proposal: Proposal) -> dict[str, Any]:
    session = get_session()
    member = api_member()
    now = utcnow()
    names = services.can_read_deliberation(member, now)
    res = read.results(session, proposal, now, names=names)
    mine = read.my_position(session, proposal, member)
    author = None
    if names:
        from market.members.models import Member

        who = session.get(Member, proposal.author_id)
        author = who.display_name if who else "a former member"
    return {
        "id": proposal.id,
        "title": proposal.title,
        "author": author,
        "body": proposal.body if names else None,
        "closes_at": proposal.closes_at,
        "is_open": proposal.is_open(now),
        "results_visible": res.visible,
        "counts": [{"stance": s, "count": n} for s, n in res.counts] if res.visible else [],
        "blocked": res.blocked if res.visible else False,
        "turnout_percent": res.turnout_percent,
        "mine": (
            {"stance": mine.stance, "reason": mine.reason, "updated_at": mine.updated_at}
            if mine
            else None
        ),
    }


@bp.route("")
@api_scope("read")
@bp.response(200, schemas.ProposalLine(many=True))
def proposal_list() -> list[dict[str, Any]]:
    """Open proposals (closing soonest first), then the most recently closed."""
    names = services.can_read_deliberation(api_member())
    open_, closed = read.list_proposals(get_session())
    return [
        {
            "id": line.proposal.id,
            "title": line.proposal.title,
            "author": line.author_name if names else None,
            "closes_at": line.proposal.closes_at,
            "is_open": line.is_open,
            "flagged": line.flagged,
        }
        for line in [*open_, *closed]
    ]


@bp.route("", methods=["POST"])
@api_scope("member")
@throttle(
    "PROPOSAL_RATE_LIMIT",
    "You have started a lot of proposals lately. Try again later.",
    key_func=member_key,
    shared=True,
)
@bp.arguments(schemas.ProposalIn)
@bp.response(201, schemas.ProposalOut)
def start(data: dict[str, Any]) -> dict[str, Any]:
    """Start a proposal (the same budget of proposals as the page's, per member)."""
    proposal = services.start_proposal(
        get_session(),
        api_member(),
        data["title"],
        data["body"],
        data["closes_at"],
        results_while_open=data["results_while_open"],
    )
    return _out(proposal)


@bp.route("/<int:proposal_id>")
@api_scope("read")
@bp.response(200, schemas.ProposalOut)
def detail(proposal_id: int) -> dict[str, Any]:
    """One proposal: its text, counts (when visible) and my position."""
    return _out(_load(proposal_id))


@bp.route("/<int:proposal_id>/position", methods=["PUT"])
@api_scope("member")
@bp.arguments(schemas.PositionIn)
@bp.response(200, schemas.ProposalOut)
def position(data: dict[str, Any], proposal_id: int) -> dict[str, Any]:
    """Agree, abstain, disagree, or block (a block needs a reason)."""
    proposal = _load(proposal_id)
    services.take_position(get_session(), api_member(), proposal, data["stance"], data["reason"])
    return _out(proposal)


def _thread(proposal: Proposal) -> dict[str, Any]:
    from flask import current_app

    from market.discussions import services as talk

    session = get_session()
    subject = talk.get_subject(session, "proposal", proposal.id)
    found = talk.thread(session, api_member(), subject, talk.edit_window(current_app.config))
    return {
        "visible": found.visible,
        "count": found.count,
        "comments": [
            {
                "id": c.id,
                "parent_id": c.parent_id,
                "depth": c.depth,
                "author": c.author_name,
                "body": c.body,
                "created_at": c.created_at,
                "edited": c.edited,
                "deleted": c.deleted,
            }
            for c in found.comments
        ],
    }


@bp.route("/<int:proposal_id>/comments")
@api_scope("read")
@bp.response(200, schemas.ThreadOut)
def comments(proposal_id: int) -> dict[str, Any]:
    """The proposal's discussion, replies under their parents (as the page shows it)."""
    return _thread(_load(proposal_id))


@bp.route("/<int:proposal_id>/comments", methods=["POST"])
@api_scope("member")
@bp.arguments(schemas.CommentIn)
@bp.response(201, schemas.ThreadOut)
def comment(data: dict[str, Any], proposal_id: int) -> dict[str, Any]:
    """Add a comment (Markdown) or a reply to one of this thread's comments."""
    from market.discussions import services as talk

    proposal = _load(proposal_id)
    subject = talk.get_subject(get_session(), "proposal", proposal.id)
    talk.post_comment(get_session(), api_member(), subject, data["body"], data["parent_id"])
    return _thread(proposal)
