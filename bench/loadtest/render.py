"""Plain-text rendering of a load-test Report."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bench.loadtest.report import top_errors

if TYPE_CHECKING:
    from bench.loadtest.report import Report


def render(report: Report) -> str:
    """Tables of traffic, errors, faults, invariants and targets."""
    lines = [f"Load test: {report.seconds:.0f} s", "", "Requests by kind"]
    lines.append(
        f"  {'kind':<14}{'requests':>9}{'errors':>8}{'req/s':>8}"
        f"{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
    )
    for k in report.by_kind():
        lines.append(
            f"  {k.kind:<14}{k.count:>9}{k.errors:>8}{k.per_second:>8.1f}"
            f"{k.p50_ms:>9.1f}{k.p95_ms:>9.1f}{k.p99_ms:>9.1f}"
        )
    lines += _errors(report) + _faults(report) + _invariants(report) + _targets(report)
    return "\n".join(lines)


def _errors(report: Report) -> list[str]:
    inside, outside = report.split()
    lines = ["", "Errors"]
    for label, samples in (("inside fault windows", inside), ("outside fault windows", outside)):
        errors = sum(not s.ok for s in samples)
        rate = errors / len(samples) if samples else 0.0
        lines.append(f"  {label:<22} {errors:>6} of {len(samples):>7} requests ({rate:.3%})")
        for message, count in top_errors(samples, 5):
            lines.append(f"      {count:>6} x {message}")
    return lines


def _faults(report: Report) -> list[str]:
    f = report.faults
    lines = ["", "Faults", f"  worker kills (SIGKILL)      {f.kills}"]
    if f.db_down_s is not None:
        lines.append(f"  PostgreSQL restart          back up after {f.db_down_s:.2f} s")
        lines.append(f"  app recovery (first good DB-backed request) {f.recovery_s:.2f} s")
    else:
        lines.append("  PostgreSQL restart          not injected")
    for label, count in sorted(report.rec.disconnects.items()):
        lines.append(f"  disconnect: {label:<28} {count}")
    for label, value in report.extras.items():
        lines.append(f"  {label:<27} {value}")
    lines += [f"  note: {n}" for n in f.notes]
    return lines


def _invariants(report: Report) -> list[str]:
    lines = ["", "Invariants"]
    for name, problems in report.invariants.items():
        lines.append(f"  {'ok  ' if not problems else 'FAIL'} {name}")
        lines += [f"         {p}" for p in problems[:10]]
    return lines


def _targets(report: Report) -> list[str]:
    lines = ["", "Targets"]
    for name, met, value in report.targets():
        lines.append(f"  {'met   ' if met else 'MISSED'} {name}: {value}")
    return lines
