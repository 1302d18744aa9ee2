from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask


@pytest.fixture
def audit_dir(tmp_path: Path) -> Path:
    return tmp_path / "audit"


@pytest.fixture
def app(make_app: Callable[..., Flask], audit_dir: Path) -> Flask:
    """Rounds closed here write their audit files to the test's own folder."""
    return make_app(AUDIT_DIR=str(audit_dir))
