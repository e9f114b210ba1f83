"""Seeds derived from one base seed by scope name.

A consumer of randomness asks for the seed of its scope (``"cv"``,
``"model/random_forest"``); the answer depends only on the base seed and that
name, never on how many seeds were drawn before, so adding a model or running
work in another order changes no other seed.
"""

from __future__ import annotations

import hashlib

#: seeds are kept below 2**32 because NumPy's legacy seeding and many estimators require it
SEED_SPACE = 2**32


def derive_seed(base_seed: int, scope: str) -> int:
    """Return the seed for ``scope`` under ``base_seed``: SHA-256 of both, folded into 32 bits."""
    digest = hashlib.sha256(f"trainlock-seed:{int(base_seed)}:{scope}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % SEED_SPACE


class SeedLedger:
    """Hands out derived seeds and remembers each, so the run can record what it used."""

    def __init__(self, base_seed: int) -> None:
        self.base_seed = int(base_seed)
        self._issued: dict[str, int] = {}

    def seed_for(self, scope: str) -> int:
        seed = derive_seed(self.base_seed, scope)
        self._issued[scope] = seed
        return seed

    def issued(self) -> dict[str, int]:
        """Every scope seeded so far, sorted by scope name."""
        return dict(sorted(self._issued.items()))
