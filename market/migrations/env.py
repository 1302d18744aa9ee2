"""Alembic environment: the engine comes from the app's settings (see market.cli)."""

from __future__ import annotations

from alembic import context

import allocation.models  # noqa: F401  (register tables)
import catalog.models  # noqa: F401
import market.models  # noqa: F401
from market.db import Base, make_engine

config = context.config
connection = config.attributes.get("connection")


def run(conn: object) -> None:
    context.configure(
        connection=conn,  # type: ignore[arg-type]
        target_metadata=Base.metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    run(connection)
else:
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        run(conn)
        conn.commit()
