"""Budget-round tables (rounds, ballots, tallies)."""

from __future__ import annotations
