"""The benchmark CLI prints the documented JSON shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.rules import main

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "pabulib"


def test_json_per_file(capsys: pytest.CaptureFixture[str]) -> None:
    path = DATA / "Poland_Warszawa_2017_Mlynow.pb"
    if not path.exists():
        pytest.skip(f"Pabulib data not found at {DATA} (expected ../shared/data/pabulib)")
    assert main([str(path), "--json", "--repeat", "1", "--rule", "mes", "--rule", "im"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["voters"] == 1438 and report["projects"] == 25
    assert report["budget"] == 1330900 and report["parse_seconds"] > 0
    mes, im = report["results"]
    assert mes["rule"] == "mes" and "726" in mes["selected"]
    assert im["rule"] == "im" and abs(sum(im["shares"].values()) - 1) < 1e-9


def test_synthetic_profile_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--synthetic", "2000x5", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert "synthetic:2000x5" in out and "identical=True" in out
    for rule in ("im", "consensus", "mean"):
        assert f"  {rule} " in out


def test_pabutools_comparison_on_its_fastest_use(capsys: pytest.CaptureFixture[str]) -> None:
    path = DATA / "Poland_Warszawa_2017_Mlynow.pb"
    if not path.exists():
        pytest.skip(f"Pabulib data not found at {DATA} (expected ../shared/data/pabulib)")
    pytest.importorskip("pabutools")
    args = [str(path), "--json", "--repeat", "1", "--rule", "mes", "--rule", "greedy"]
    assert main([*args, "--pabutools", "--multiprofile", "--cpu"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["pabutools_multiprofile"] is True and report["prepare_seconds"] > 0
    for result in report["results"]:
        assert result["identical"] is True
        assert result["prepared_seconds"] > 0 and result["prepared_speedup"] > 0
