"""CLI command groups beyond the core verbs; each module has register(subparsers, *, common, reporting)."""
