"""What a check found: the types that ``verify``, ``env check``, attestations and the ledger build.

Kept at the bottom of the layers so that every check provider (the run's own files, the
ledger, the environment, a signature) can produce :class:`Check` objects without knowing
who composes them; ``verify`` only adds them up.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

#: ``ok`` and ``skipped`` pass; ``changed`` and ``missing`` fail the report
Status = Literal["ok", "changed", "missing", "skipped"]
PASSING: frozenset[Status] = frozenset({"ok", "skipped"})


@dataclass(frozen=True)
class Check:
    """One comparison of a recorded value with what is found now."""

    name: str
    status: Status
    path: str | None = None
    expected: str | None = None
    actual: str | None = None
    detail: str | None = None

    @property
    def passed(self) -> bool:
        return self.status in PASSING


@dataclass
class CheckReport:
    """The checks of one run, in the order they ran."""

    run_id: str
    run_dir: str
    kind: str
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [check for check in self.checks if not check.passed]

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "run_dir": self.run_dir,
            "kind": self.kind,
            "ok": self.ok,
            "checks": [asdict(check) for check in self.checks],
        }
