"""The figures of a run: traffic by kind, latency, errors in and out of fault windows,
fault measurements, invariants, and the targets met or missed."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from bench.http import Recorder, Sample, percentile
from bench.loadtest.faults import FaultLog

MAX_ERROR_RATE = 0.001  # outside fault windows
MAX_RECOVERY_S = 10.0


@dataclass(frozen=True)
class KindStats:
    """Requests of one kind."""

    kind: str
    count: int
    errors: int
    per_second: float
    p50_ms: float
    p95_ms: float
    p99_ms: float


def kind_stats(kind: str, samples: list[Sample], seconds: float) -> KindStats:
    """Count, errors, throughput and latency percentiles of some samples."""
    latencies = sorted(s.ms for s in samples)
    return KindStats(
        kind,
        len(samples),
        sum(not s.ok for s in samples),
        len(samples) / seconds if seconds else 0.0,
        percentile(latencies, 0.50),
        percentile(latencies, 0.95),
        percentile(latencies, 0.99),
    )


@dataclass
class Report:
    """Everything the run measured; `passed` when every target holds."""

    seconds: float
    rec: Recorder
    faults: FaultLog
    invariants: dict[str, list[str]]
    extras: dict[str, str] = field(default_factory=dict)  # e.g. the webhook burst's figures

    def by_kind(self) -> list[KindStats]:
        """One row per traffic kind, then the total."""
        kinds = sorted({s.kind for s in self.rec.samples})
        rows = [
            kind_stats(k, [s for s in self.rec.samples if s.kind == k], self.seconds) for k in kinds
        ]
        rows.append(kind_stats("all", self.rec.samples, self.seconds))
        return rows

    def split(self) -> tuple[list[Sample], list[Sample]]:
        """Samples inside a kill/restart window, and the rest."""
        inside: list[Sample] = []
        outside: list[Sample] = []
        for s in self.rec.samples:
            (inside if self.faults.excused(s.start, s.end) else outside).append(s)
        return inside, outside

    def error_rate_outside(self) -> float:
        """Share of requests outside fault windows that failed."""
        _inside, outside = self.split()
        return sum(not s.ok for s in outside) / len(outside) if outside else 0.0

    def violations(self) -> int:
        """How many invariant problems were found."""
        return sum(len(p) for p in self.invariants.values())

    def targets(self) -> list[tuple[str, bool, str]]:
        """(target, met, measured) for each target of the issue."""
        rate = self.error_rate_outside()
        rows = [
            (f"error rate outside fault windows < {MAX_ERROR_RATE:.1%}",
             rate < MAX_ERROR_RATE, f"{rate:.3%}"),
            ("zero invariant violations", self.violations() == 0, str(self.violations())),
        ]  # fmt: skip
        if self.faults.recovery_s is not None:
            rec = self.faults.recovery_s
            rows.insert(
                1, (f"recovery after the database restart < {MAX_RECOVERY_S:.0f} s",
                    rec < MAX_RECOVERY_S, f"{rec:.2f} s"),
            )  # fmt: skip
        return rows

    @property
    def passed(self) -> bool:
        """Every target met."""
        return all(met for _name, met, _value in self.targets())

    def render(self) -> str:
        """The report as plain text."""
        from bench.loadtest.render import render

        return render(self)


def top_errors(samples: list[Sample], n: int = 8) -> list[tuple[str, int]]:
    """The most frequent error messages among some samples."""
    return Counter(s.error or "?" for s in samples if not s.ok).most_common(n)
