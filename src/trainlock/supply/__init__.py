"""Supply-chain proof for runs: environment identity, SBOMs, container recipe, signed attestations, ledger.

Each module is one verb's library half; the CLI half lives in ``trainlock.commands.<verb>``.
Modules import their third-party libraries (cryptography, cyclonedx, spdx-tools) inside
functions so that ``trainlock --help`` stays fast.
"""
