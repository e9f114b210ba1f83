"""The object-storage leaves of trainlock's one exception tree (rooted in ``trainlock.errors``)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ..errors import TrainlockError

if TYPE_CHECKING:
    from .location import RemoteLocation


class RemoteStoreError(TrainlockError, OSError):
    """The object store could not be reached, listed, read or written."""


@contextlib.contextmanager
def translated(store: RemoteLocation, action: str) -> Iterator[None]:
    """Turn what fsspec backends raise (botocore, aiohttp, OS errors) into one :class:`RemoteStoreError`."""
    try:
        yield
    except TrainlockError:
        raise
    except FileNotFoundError as exc:
        raise RemoteStoreError(
            f"could not {action} {store.url}: not found ({exc}); check that the bucket exists and the URL is right"
        ) from None
    except Exception as exc:  # a backend can fail in many ways; each means "the store is not usable"
        detail = str(exc).strip() or type(exc).__name__
        raise RemoteStoreError(
            f"could not {action} {store.url}: {detail}; check the endpoint (AWS_ENDPOINT_URL or "
            "--storage-option endpoint_url=URL) and the credentials"
        ) from None
