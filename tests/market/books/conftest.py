from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def audit_dir(tmp_path: Path) -> Path:
    """Where a test saves a copy of an audit file to recount it (files live in the database)."""
    return tmp_path / "audit"
