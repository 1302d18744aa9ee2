from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

import allocation.models  # noqa: F401
import catalog.models  # noqa: F401
import market.models  # noqa: F401
from market.db import Base


def test_migrations_match_models(engine: Engine) -> None:
    """The schema the migrations built (session fixture) is exactly what the models say."""
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == []
