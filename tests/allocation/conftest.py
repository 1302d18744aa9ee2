from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def audit_dir(tmp_path: Path) -> Path:
    """A folder for copies of audit files taken out of the database (to recount them)."""
    folder = tmp_path / "audit"
    folder.mkdir()
    return folder
