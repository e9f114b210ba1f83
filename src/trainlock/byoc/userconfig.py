"""The configuration of user code: YAML files merged in order, ``--set`` overrides, one base seed.

Unlike the tabular recipe's config, its keys are the user's: trainlock validates only
``seed`` and records the rest canonically, so the snapshot and its hash identify it.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..composition import deep_merge, parse_override, set_dotted
from ..errors import ConfigError
from ..hashing import sha256_bytes

#: the base seed when neither the config nor --seed gives one
DEFAULT_SEED = 0


@dataclass(frozen=True)
class UserConfig:
    """A resolved user config: values (with ``seed``), canonical snapshot text and its SHA-256."""

    values: dict[str, Any]
    snapshot: str
    sha256: str
    sources: tuple[str, ...]

    @property
    def seed(self) -> int:
        return int(self.values["seed"])

    @property
    def replicate_sha256(self) -> str:
        """The snapshot's hash without the seed: equal for runs that differ only in their seed."""
        without_seed = {key: value for key, value in self.values.items() if key != "seed"}
        return sha256_bytes(_dump(without_seed).encode("utf-8"))


def load_user_config(
    sources: Sequence[str | os.PathLike[str]] | Mapping[str, Any] | str | os.PathLike[str] | None = (),
    *,
    overrides: Sequence[str] = (),
    seed: int | None = None,
) -> UserConfig:
    """Merge config files (or take a mapping), apply ``key=value`` overrides, then the seed."""
    merged: dict[str, Any] = {}
    names: tuple[str, ...] = ()
    if isinstance(sources, Mapping):
        merged = copy.deepcopy({str(key): value for key, value in sources.items()})
        names = ("<mapping>",)
    elif sources is not None:
        paths = [sources] if isinstance(sources, (str, os.PathLike)) else list(sources)
        for path in paths:
            merged = deep_merge(merged, _read(Path(path)))
        names = tuple(str(path) for path in paths)
    for override in overrides:
        key, value = parse_override(override)
        set_dotted(merged, key, value)
    if seed is not None:
        merged["seed"] = seed
    merged.setdefault("seed", DEFAULT_SEED)
    if isinstance(merged["seed"], bool) or not isinstance(merged["seed"], int) or merged["seed"] < 0:
        raise ConfigError(
            f"seed: expected a non-negative integer, found {merged['seed']!r}; set e.g. seed: 42 or pass --seed 42"
        )
    snapshot = _dump(merged)
    return UserConfig(merged, snapshot, sha256_bytes(snapshot.encode("utf-8")), names)


def _dump(values: Mapping[str, Any]) -> str:
    try:
        return yaml.safe_dump(dict(values), sort_keys=True, default_flow_style=False, allow_unicode=True)
    except yaml.representer.RepresenterError as exc:
        raise ConfigError(
            f"config holds a value YAML cannot write ({exc.args[-1]!r}); use plain numbers, strings, lists and mappings"
        ) from None


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path} ({exc}); pass a UTF-8 YAML file") from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise ConfigError(f"config file {path} is not valid YAML{where}; fix the file") from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise ConfigError(f"config file {path} must hold a mapping of keys, found a {type(document).__name__}")
    return {str(key): value for key, value in document.items()}
