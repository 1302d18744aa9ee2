"""Read Pabulib ``.pb`` files (pabulib.org/format): META, PROJECTS and VOTES sections.

Each section is a line with its name, a header line, then semicolon-separated rows. A vote's
``vote`` column lists project ids separated by commas; points ballots (``cumulative``,
``scoring``) add a ``points`` column in the same order. Malformed files raise
``PabulibError`` naming the line and what is wrong.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import numpy.typing as npt

APPROVAL_TYPES = frozenset({"approval", "choose-1"})
POINTS_TYPES = frozenset({"cumulative", "scoring"})


class PabulibError(ValueError):
    """A Pabulib file that cannot be read, with the line and the reason."""


@dataclass(frozen=True)
class PabulibElection:
    """One participatory-budgeting election as read from a Pabulib file."""

    meta: dict[str, str]
    costs: dict[str, int | Fraction]  # project id -> cost, in file order
    budget: int | Fraction
    vote_type: str
    votes: list[tuple[str, ...]]  # project ids per voter, as in the file
    points: list[tuple[float, ...]] | None  # same order as votes; None for approval ballots

    @property
    def project_ids(self) -> list[str]:
        """Project ids in file order."""
        return list(self.costs)

    def shares(self) -> tuple[list[str], npt.NDArray[np.float64]]:
        """Ballots as shares for the divisible rules; voters with nothing to give are left out.

        Points are divided by the ballot's total; an approval ballot counts as equal shares over
        the projects it approves.
        """
        ids = self.project_ids
        col = {pid: j for j, pid in enumerate(ids)}
        rows = []
        for i, vote in enumerate(self.votes):
            pts = self.points[i] if self.points is not None else (1.0,) * len(vote)
            total = sum(pts)
            if not vote or total <= 0:
                continue  # an abstaining voter is not in the profile
            row = np.zeros(len(ids))
            for pid, p in zip(vote, pts, strict=True):
                row[col[pid]] = p / total
            rows.append(row)
        matrix = np.array(rows) if rows else np.zeros((0, len(ids)))
        return ids, matrix


def _number(text: str, where: str) -> int | Fraction:
    text = text.strip().replace(",", ".")
    try:
        value = Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise PabulibError(f"{where}: {text!r} is not a number") from None
    return int(value) if value.denominator == 1 else value


def _sections(lines: list[str], name: str) -> Iterator[tuple[str, int, list[str], list[str]]]:
    """Yield (section, line number, header, row) for every data row."""
    section, header = "", [""]
    rows = csv.reader(lines, delimiter=";")
    for row in rows:
        lineno = rows.line_num
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        first = row[0].strip().lower()
        if len(row) == 1 and first in ("meta", "projects", "votes"):
            section = first
            header = [h.strip() for h in next(rows, [])]
            if not header or not header[0]:
                raise PabulibError(f"{name}:{lineno + 1}: {section.upper()} has no header line")
            continue
        if not section:
            raise PabulibError(f"{name}:{lineno}: data before the META section")
        if len(row) != len(header):
            raise PabulibError(
                f"{name}:{lineno}: {len(row)} fields but the {section.upper()} header has "
                f"{len(header)}"
            )
        yield section, lineno, header, row


def read_pabulib(path: str | Path) -> PabulibElection:
    """Read a Pabulib file; raise PabulibError (a ValueError) with line and reason if malformed."""
    path = Path(path)
    return parse_pabulib_text(path.read_text(encoding="utf-8-sig"), path.name)


def parse_pabulib_text(text: str, name: str = "<pabulib>") -> PabulibElection:
    """Parse the text of a Pabulib file (see read_pabulib)."""
    meta: dict[str, str] = {}
    costs: dict[str, int | Fraction] = {}
    canon: dict[str, str] = {}  # each project id to itself: the one string votes hold
    votes: list[tuple[str, ...]] = []
    points: list[tuple[float, ...]] = []
    seen: set[str] = set()
    for section, lineno, header, row in _sections(text.splitlines(), name):
        where = f"{name}:{lineno}"
        if section == "meta":
            meta[row[0].strip()] = row[1].strip()
        elif section == "projects":
            pid = _project(dict(zip(header, row, strict=True)), costs, where)
            canon[pid] = pid
        else:
            seen.add(section)
            _vote(dict(zip(header, row, strict=True)), meta, canon, votes, points, where)
    for key in ("budget", "vote_type"):
        if key not in meta:
            raise PabulibError(f"{name}: META has no {key!r}")
    if not costs:
        raise PabulibError(f"{name}: no PROJECTS section (or it is empty)")
    budget = _number(meta["budget"], f"{name}: META budget")
    if budget < 0:
        raise PabulibError(f"{name}: META budget is negative ({meta['budget']})")
    vote_type = meta["vote_type"]
    return PabulibElection(
        meta=meta,
        costs=costs,
        budget=budget,
        vote_type=vote_type,
        votes=votes,
        points=points if vote_type in POINTS_TYPES else None,
    )


def _project(fields: dict[str, str], costs: dict[str, int | Fraction], where: str) -> str:
    if "project_id" not in fields or "cost" not in fields:
        raise PabulibError(f"{where}: PROJECTS header needs project_id and cost")
    pid = fields["project_id"].strip()
    if pid in costs:
        raise PabulibError(f"{where}: project {pid!r} is listed twice")
    cost = _number(fields["cost"], f"{where}: cost of project {pid!r}")
    if cost <= 0:
        raise PabulibError(f"{where}: project {pid!r} has cost {cost} (must be > 0)")
    costs[pid] = cost
    return pid


def _vote(
    fields: dict[str, str],
    meta: dict[str, str],
    canon: dict[str, str],
    votes: list[tuple[str, ...]],
    points: list[tuple[float, ...]],
    where: str,
) -> None:
    vote_type = meta.get("vote_type", "")
    if vote_type not in APPROVAL_TYPES | POINTS_TYPES:
        raise PabulibError(f"{where}: vote_type {vote_type!r} is not approval or points")
    if "vote" not in fields:
        raise PabulibError(f"{where}: VOTES header has no 'vote' column")
    raw = fields["vote"].strip()
    named = [p.strip() for p in raw.split(",")] if raw and raw.lower() != "none" else []
    # The projects section's own strings (as pabutools' ballots hold its Project objects):
    # one object per id, not one per mention, so equal ballots compare by identity.
    try:
        ids = tuple(map(canon.__getitem__, named))
    except KeyError as exc:
        raise PabulibError(f"{where}: vote names unknown project {exc.args[0]!r}") from None
    if len(set(ids)) != len(ids):
        raise PabulibError(f"{where}: vote names a project more than once")
    votes.append(ids)
    if vote_type in POINTS_TYPES:
        text = fields.get("points", "").strip()
        parts = text.split(",") if ids else []
        if len(parts) != len(ids):
            raise PabulibError(f"{where}: {len(ids)} projects but {len(parts)} points")
        try:
            pts = tuple(float(p) for p in parts)
        except ValueError:
            raise PabulibError(f"{where}: points {text!r} are not numbers") from None
        if any(not np.isfinite(p) or p < 0 for p in pts):
            raise PabulibError(f"{where}: points {text!r} must be finite and >= 0")
        points.append(pts)
