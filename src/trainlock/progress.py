"""Progress reporting: the library announces steps, the CLI decides how (or whether) to show them."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def start(self, total: int, description: str) -> None: ...

    def advance(self, description: str) -> None: ...

    def close(self) -> None: ...


class NullProgress:
    def start(self, total: int, description: str) -> None:
        pass

    def advance(self, description: str) -> None:
        pass

    def close(self) -> None:
        pass
