"""Fail CI unless the PostgreSQL and browser tests actually ran and passed."""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET

tree = ET.parse(sys.argv[1])
cases = list(tree.iter("testcase"))


def passed(case: ET.Element) -> bool:
    return not any(case.find(tag) is not None for tag in ("skipped", "failure", "error"))


postgres = [c for c in cases if "[postgresql" in c.get("name", "")]
browser = [c for c in cases if c.get("classname", "").startswith("tests.e2e")]
skipped = [c for c in cases if c.find("skipped") is not None]
problems = []
if not postgres or not all(passed(c) for c in postgres):
    problems.append(f"PostgreSQL tests: {len(postgres)} found, not all passed")
if not browser or not all(passed(c) for c in browser):
    problems.append(f"browser tests: {len(browser)} found, not all passed")
for c in skipped:
    problems.append(f"skipped: {c.get('classname')}::{c.get('name')}")
print(f"{len(cases)} tests; {len(postgres)} on PostgreSQL; {len(browser)} in the browser")
if problems:
    print("CI check failed:\n  " + "\n  ".join(problems))
    sys.exit(1)
