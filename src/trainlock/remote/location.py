"""Where a remote store lives: its URL, storage options, fsspec filesystem and local mirror.

Kept light (no fsspec import until :meth:`RemoteLocation.filesystem`), because every
command that opens a store imports it, whether or not the store is a URL.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..errors import MissingExtraError, StorePathError

CACHE_ENV = "TRAINLOCK_CACHE"

#: the protocols whose endpoint the usual AWS environment variables name
S3_PROTOCOLS = frozenset({"s3", "s3a"})


def cache_root() -> Path:
    """Where remote runs are staged and mirrored: ``$TRAINLOCK_CACHE``, else the user's cache folder."""
    chosen = os.environ.get(CACHE_ENV)
    if chosen:
        return Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "trainlock"


@dataclass(frozen=True)
class RemoteLocation:
    """A run store at an fsspec URL such as ``s3://bucket/prefix``."""

    url: str
    #: canonical JSON of the storage options (a string, so the store stays hashable)
    options_json: str = "{}"

    @classmethod
    def parse(cls, url: str, storage_options: Sequence[str] = ()) -> RemoteLocation:
        protocol, _, rest = url.partition("://")
        rest = rest.rstrip("/")
        segments = rest.lstrip("/").split("/")
        if not segments[0]:
            raise StorePathError(f"store URL '{url}' names no bucket; pass --store {protocol}://BUCKET[/PREFIX]")
        if any(segment in ("", ".", "..") for segment in segments):
            raise StorePathError(f"store URL '{url}' has an empty, '.' or '..' path segment; write the prefix plainly")
        options = parse_storage_options(storage_options)
        return cls(f"{protocol.lower()}://{rest}", json.dumps(options, sort_keys=True))

    def __str__(self) -> str:
        return self.url

    @property
    def protocol(self) -> str:
        return self.url.partition("://")[0]

    @property
    def storage_options(self) -> dict[str, Any]:
        options: dict[str, Any] = json.loads(self.options_json)
        if self.protocol in S3_PROTOCOLS and "endpoint_url" not in options:
            # botocore reads AWS_ENDPOINT_URL itself; naming it here also keys the mirror and the
            # filesystem cache on it, so two endpoints with one bucket name never share either
            endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
            if endpoint and "endpoint_url" not in options.get("client_kwargs", {}):
                options["endpoint_url"] = endpoint
        return options

    def filesystem(self) -> Any:
        return _filesystem(self.protocol, json.dumps(self.storage_options, sort_keys=True))

    @property
    def root(self) -> str:
        """The store's path as the filesystem's methods take it (``bucket/prefix`` for s3)."""
        return _strip_protocol(self.filesystem(), self.url)

    def key(self, *parts: str) -> str:
        return "/".join([self.root, *parts])

    def run_url(self, run_id: str) -> str:
        return f"{self.url}/{run_id}"

    @property
    def mirror(self) -> Path:
        """The local folder holding this store's materialised runs (a cache; the store is the truth)."""
        options = self.storage_options
        endpoint = options.get("endpoint_url") or options.get("client_kwargs", {}).get("endpoint_url") or ""
        digest = hashlib.sha256(f"{self.url}\n{endpoint}".encode()).hexdigest()[:16]
        return cache_root() / "stores" / digest


def parse_storage_options(items: Sequence[str]) -> dict[str, Any]:
    """``key=value`` pairs (values read as YAML scalars; dotted keys nest) into fsspec storage options."""
    options: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise StorePathError(
                f"--storage-option '{item}': expected KEY=VALUE, e.g. endpoint_url=http://127.0.0.1:9000"
            )
        try:
            value = yaml.safe_load(text) if text else ""
        except yaml.YAMLError:
            value = text
        if isinstance(value, (dict, list)) or value is None:
            value = text  # only scalars: a value is never read as structure
        target = options
        *parents, leaf = key.strip().split(".")
        for parent in parents:
            child = target.setdefault(parent, {})
            if not isinstance(child, dict):
                raise StorePathError(f"--storage-option '{item}': '{parent}' is already set to a value")
            target = child
        target[leaf] = value
    return options


@functools.lru_cache(maxsize=16)
def _filesystem(protocol: str, options_json: str) -> Any:
    try:
        import fsspec
    except ImportError:
        raise MissingExtraError("object-storage stores need fsspec; pip install 'trainlock[s3]'") from None
    try:
        return fsspec.filesystem(protocol, **json.loads(options_json))
    except ImportError as exc:
        raise MissingExtraError(
            f"the {protocol}:// store needs a package that is not installed ({exc}); for s3 pip install 'trainlock[s3]'"
        ) from None
    except ValueError as exc:
        raise StorePathError(f"store protocol '{protocol}://' is not usable: {exc}") from None
    except TypeError as exc:
        raise StorePathError(f"--storage-option for '{protocol}://' not accepted: {exc}") from None


def _strip_protocol(fs: Any, url: str) -> str:
    stripped: str = fs._strip_protocol(url)  # fsspec's own rule for each backend (s3: bucket/prefix)
    return stripped.rstrip("/")
