"""A read-only local web app over a run store: run list, run reports, compare pages and a JSON API."""

from __future__ import annotations

from .server import UIServer, make_server

__all__ = ["UIServer", "make_server"]
