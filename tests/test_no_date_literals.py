"""No month, year or date literal in the packages' code: they derive months from the clock.

A fixed "2026-11" in a demo, a seed script or a default goes stale the month after it was
written (issue 12). Docstrings, help texts and messages are prose and may give examples.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("market", "catalog", "allocation")
PERIOD_LIKE = re.compile(r"\d{4}-\d{2}")
DATE_CALLS = {"date", "datetime"}
# Keyword arguments whose strings are prose shown to people (examples welcome there).
PROSE_KEYWORDS = {"help", "description", "message", "metavar", "short_help", "epilog"}


def _sources() -> Iterator[Path]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def _prose(tree: ast.AST) -> set[int]:
    """Ids of string nodes that are prose: docstrings, help texts, error messages."""
    ids: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        first = body[0] if isinstance(body, list) and body else None
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
            ids.add(id(first.value))
        if isinstance(node, ast.keyword) and node.arg in PROSE_KEYWORDS:
            ids.update(id(n) for n in ast.walk(node.value))
        if isinstance(node, ast.Raise) and node.exc is not None:
            ids.update(id(n) for n in ast.walk(node.exc))
    return ids


def _called(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def offences(source: str, name: str = "<source>") -> list[str]:
    """Where a piece of code holds a date-like literal, as 'name:line: what'."""
    tree = ast.parse(source)
    prose = _prose(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in prose:
            if PERIOD_LIKE.search(node.value):
                found.append(f"{name}:{node.lineno}: {node.value[:40]!r}")
        elif isinstance(node, ast.Call) and _called(node) in DATE_CALLS and node.args:
            year = node.args[0]
            if isinstance(year, ast.Constant) and isinstance(year.value, int):
                found.append(f"{name}:{node.lineno}: {_called(node)}({year.value}, ...)")
    return found


def test_the_checker_catches_what_it_should() -> None:
    bad = 'PERIOD = "2026-11"\nwhen = date(2026, 11, 3)\nref = f"PAY-2026-11-{i}"\n'
    assert len(offences(bad)) == 3
    fine = (
        '"""Module doc: e.g. 2026-11."""\n'
        "def f():\n"
        '    """Like 2026-11."""\n'
        '    raise ValueError("The period is a month written like 2026-11.")\n'
        'opt = click.option("--period", help="e.g. 2026-11")\n'
        "seed = Random(SEED)\nwhen = date(year, 2, 29)\n"
    )
    assert offences(fine) == []


def test_no_date_literals_in_the_packages() -> None:
    found = [
        hit
        for path in _sources()
        for hit in offences(path.read_text(), str(path.relative_to(ROOT)))
    ]
    assert found == [], "derive months from market.clock instead:\n" + "\n".join(found)
