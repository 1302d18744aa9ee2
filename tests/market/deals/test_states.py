"""The deal state machine's table: allowed moves pass, everything else is refused by name."""

from __future__ import annotations

import itertools

import pytest

from market.deals.states import MOVES, Actor, Status, allowed, check_move
from market.errors import Conflict


def test_story_path_is_allowed() -> None:
    path = [
        (Status.DRAFT, Status.REQUESTED, Actor.ADMIN),
        (Status.REQUESTED, Status.OFFERED, Actor.VENDOR),
        (Status.OFFERED, Status.COUNTERED, Actor.ADMIN),
        (Status.COUNTERED, Status.OFFERED, Actor.VENDOR),
        (Status.OFFERED, Status.ACCEPTED, Actor.ADMIN),
        (Status.ACCEPTED, Status.ACTIVE, Actor.SYSTEM),
        (Status.ACTIVE, Status.EXPIRED, Actor.SYSTEM),
    ]
    for current, target, actor in path:
        check_move(current, target, actor)


@pytest.mark.parametrize(
    ("current", "target", "actor"),
    [
        ("draft", "active", "admin"),
        ("offered", "accepted", "vendor"),  # the vendor cannot accept its own offer
        ("countered", "accepted", "admin"),  # nor the co-op its own counter
        ("accepted", "active", "admin"),  # only settling activates
        ("rejected", "offered", "vendor"),
        ("expired", "active", "system"),
        ("active", "withdrawn", "admin"),
    ],
)
def test_illegal_moves_are_refused_naming_state_and_move(
    current: str, target: str, actor: str
) -> None:
    with pytest.raises(Conflict) as info:
        check_move(current, target, actor)
    assert f"({current})" in info.value.message and target in info.value.message


def test_finished_states_have_no_way_out() -> None:
    for current in (Status.REJECTED, Status.WITHDRAWN, Status.LAPSED, Status.EXPIRED):
        for target, actor in itertools.product(Status, Actor):
            assert not allowed(current, target, actor)


def test_every_listed_move_names_someone() -> None:
    assert all(actors for actors in MOVES.values())
    assert not allowed("nonsense", "draft", "admin")
