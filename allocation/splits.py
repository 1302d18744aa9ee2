"""Splits as text: the canonical form stored with a ballot, hashed into its receipt, exported.

Pure (no Flask, no SQLAlchemy), so the standalone recount can use it too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

BASIS_POINTS = 10_000


def canonical(split: Mapping[int, int]) -> str:
    """'channel_id:bp,...' ordered by channel id, zero shares left out."""
    return ",".join(f"{cid}:{bp}" for cid, bp in sorted(split.items()) if bp)


def parse(text: str) -> dict[int, int]:
    """The split a canonical string stands for ({} for an abstention)."""
    if not text:
        return {}
    out: dict[int, int] = {}
    for part in text.split(","):
        cid, _, bp = part.partition(":")
        out[int(cid)] = int(bp)
    return out


def dense(text: str, channel_ids: Sequence[int]) -> list[int]:
    """Basis points per channel, in the given channel order (zeros included)."""
    split = parse(text)
    return [split.get(cid, 0) for cid in channel_ids]


def receipt(round_id: int, ballot_id: int, split_text: str, salt: str) -> str:
    """sha256 over round, ballot, split and a secret salt: findable, not linkable."""
    payload = f"softcoop-receipt|{round_id}|{ballot_id}|{split_text}|{salt}"
    return hashlib.sha256(payload.encode()).hexdigest()
