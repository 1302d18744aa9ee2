"""schemathesis against /api/v1/openapi.json: every operation, with and without a token.

No 5xx, every response of a documented status and media type, every body matching its
schema. Seeded and bounded (hypothesis derandomised, a few examples an operation), so the
run is the same every time and stays well under a minute.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from sqlalchemy.orm import Session

from market.clock import period_of, utcnow
from tests.allocation.factories import fund_pool, open_round
from tests.catalog.factories import make_product
from tests.market.factories import make_member, make_token


@dataclass
class World:
    app: Flask
    tokens: dict[str, str]


@pytest.fixture
def world(make_app: Any, session: Session) -> World:
    """A small co-op: products, an open round, a funded pool, a member and an admin."""
    app = make_app(API_RATE_LIMIT="100000 per minute", BAD_TOKEN_RATE_LIMIT="100000 per minute")
    member, admin = make_member(session), make_member(session, admin=True)
    open_round(session, admin=admin, channels=2)
    for i in range(3):
        make_product(session, keys=2, name=f"Tool {i}")
    fund_pool(session, period_of(utcnow()), 1000)
    return World(
        app,
        {
            "read": make_token(session, member, "read"),
            "member": make_token(session, member, "member"),
            "admin": make_token(session, admin, "admin"),
        },
    )


BOUNDED = settings(
    max_examples=4,
    derandomize=True,  # seeded: the same examples every run
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
]


def _run_every_operation(app: Flask, headers: dict[str, str]) -> list[str]:
    """Each operation of the document, valid and invalid inputs, through the app."""
    api = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    ran = []
    for result in api.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @BOUNDED
            def check(case: Any) -> None:
                case.call_and_validate(checks=CHECKS, headers=headers)

            try:
                check()
            except Unsatisfiable:
                # An operation without inputs has no invalid request to make.
                assert mode is GenerationMode.NEGATIVE, operation.label
        ran.append(operation.label)
    return ran


@pytest.mark.parametrize("scope", [None, "read", "admin"])
def test_every_operation_answers_as_documented(world: World, scope: str | None) -> None:
    headers = {"Authorization": f"Bearer {world.tokens[scope]}"} if scope else {}
    ran = _run_every_operation(world.app, headers)
    documented = world.app.test_client().get("/api/v1/openapi.json").json
    assert documented is not None
    expected = sum(
        1
        for ops in documented["paths"].values()
        for method in ops
        if method in {"get", "put", "post", "delete", "patch"}
    )
    assert len(ran) == expected >= 16
