"""The wheel ships the app, not its tooling: no benchmark, load test, test server or tests."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOOLING = ("bench", "loadtest", "serving", "fakestripe", "devserver", "tests")
NOT_SOURCES = shutil.ignore_patterns(
    ".git", ".venv", "build", "instance", "*.egg-info", "__pycache__", ".*_cache", "bench-out"
)


def _build_wheel(out: Path) -> Path:
    """Build the project's wheel from a clean copy (a stale build/ would leak old files)."""
    source = out / "src"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCES)
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out)]
    if importlib.util.find_spec("wheel") is not None:
        command.append("--no-build-isolation")  # this environment can build: no download
    build = subprocess.run([*command, str(source)], capture_output=True, text=True, cwd=out)
    assert build.returncode == 0, build.stderr
    (wheel,) = out.glob("softcoop-*.whl")
    return wheel


def test_the_wheel_holds_the_app_and_no_tooling(tmp_path: Path) -> None:
    names = zipfile.ZipFile(_build_wheel(tmp_path)).namelist()
    code = [n for n in names if not n.split("/")[0].endswith(".dist-info")]
    assert {n.split("/")[0] for n in code} == {"market", "catalog", "allocation"}
    tooling = [n for n in code if any(part in n for part in TOOLING)]
    assert not tooling, f"tooling in the wheel: {tooling}"
    assert {"market/money.py", "market/factory.py", "allocation/rules/apportion.py"} <= set(code)
