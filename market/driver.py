"""Hot statements sent straight to the driver's cursor: the webhook's three, on PostgreSQL.

SQLAlchemy's execution of a statement that is built once and already compiled still costs
some 0.1-0.3 ms of CPU a call (an execution context, parameter and result processing, a
result object): more than PostgreSQL spends running the statement, on a path that runs
hundreds of times a second (README, "Webhook ingestion"). `OnDriver` compiles its statement
once per dialect and runs it on the DBAPI cursor of the session's connection, inside its
transaction, keeping what matters of the usual path:

- parameters pass through their types' bind processors (`UTCDateTime` still refuses a
  naive datetime) and a missing one is refused, as `StatementError`, before anything is
  sent;
- the engine's `before_cursor_execute` / `after_cursor_execute` listeners fire, so request
  statement counts and timings (`market.ops`) and the tests' counts see the statement;
- a statement that needs what only an execution context provides (an expanding IN, a
  column's Python-side default) is refused when first compiled;
- a driver error is raised as SQLAlchemy's (`IntegrityError`, `OperationalError`, ...), and
  a lost connection is invalidated, as `Connection.execute` would.

Rows come back as the driver makes them, without result processing, which is why only
PostgreSQL takes this path: psycopg already returns aware datetimes and real booleans. On
any other database `row` is `Connection.execute(...).mappings().first()`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Connection, Executable, exc
from sqlalchemy.engine import Dialect


class OnDriver:
    """One statement, compiled per dialect on first use, run on the DBAPI cursor."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._compiled: dict[str, tuple[str, Any, dict[str, Callable[[Any], Any]]]] = {}

    def _compile(self, dialect: Dialect) -> tuple[str, Any, dict[str, Callable[[Any], Any]]]:
        found = self._compiled.get(dialect.name)
        if found is None:
            compiled = self.statement.compile(dialect=dialect)  # type: ignore[attr-defined]
            sql = str(compiled)
            if "POSTCOMPILE" in sql:
                raise ValueError("expanding (IN) parameters cannot be sent to the driver")
            if compiled.insert_prefetch or compiled.update_prefetch:
                # Computed by the execution context, which this path does not build.
                raise ValueError("a column's Python-side default would be left out: give it")
            processors = {}
            for name, bind in compiled.binds.items():
                process = bind.type.dialect_impl(dialect).bind_processor(dialect)
                if process is not None:
                    processors[name] = process
            found = self._compiled[dialect.name] = (sql, compiled, processors)
        return found

    def row(self, conn: Connection, params: Mapping[str, Any]) -> dict[str, Any] | None:
        """The statement's first row as a dict of column name to value (None: no row)."""
        if conn.dialect.name != "postgresql":
            found = conn.execute(self.statement, dict(params)).mappings().first()
            return dict(found) if found is not None else None
        sql, compiled, processors = self._compile(conn.dialect)
        try:
            values = compiled.construct_params(params)  # refuses a missing parameter
            for name, process in processors.items():
                if values.get(name) is not None:
                    values[name] = process(values[name])
        except (exc.InvalidRequestError, ValueError, TypeError) as error:
            # As Connection.execute reports a parameter it cannot bind: nothing was sent.
            raise exc.StatementError(str(error), sql, dict(params), error) from error
        dbapi = conn.connection
        cursor = dbapi.cursor()
        try:
            conn.dispatch.before_cursor_execute(conn, cursor, sql, values, None, False)
            try:
                cursor.execute(sql, values)
                got = cursor.fetchone() if cursor.description else None
            except conn.dialect.loaded_dbapi.Error as error:
                gone = conn.dialect.is_disconnect(error, dbapi, cursor)
                if gone:
                    conn.invalidate(error)
                raise exc.DBAPIError.instance(
                    sql,
                    values,
                    error,
                    conn.dialect.loaded_dbapi.Error,
                    connection_invalidated=gone,
                    dialect=conn.dialect,
                ) from error
            conn.dispatch.after_cursor_execute(conn, cursor, sql, values, None, False)
            if got is None:
                return None
            return dict(zip([column[0] for column in cursor.description], got, strict=True))
        finally:
            cursor.close()
