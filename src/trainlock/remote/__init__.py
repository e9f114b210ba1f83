"""Run stores on object storage: ``--store s3://bucket/prefix`` (any fsspec URL).

The rest of trainlock works on local run folders, so a remote store is used through
them: ``train`` stages a run in a local folder and publishes it when it ends
(:mod:`.publish`); the reading commands materialise a run into a local mirror first
(:mod:`.materialise`). Run ids are claimed on the store itself (:mod:`.claim`).
Nothing here imports fsspec until a remote store is actually used.
"""

from __future__ import annotations

from .location import RemoteLocation
from .store import RemoteStore

__all__ = ["RemoteLocation", "RemoteStore"]
