"""Config files composed: YAML read safely, mappings merged in order, ``dotted.key=value`` overrides.

Shared by the recipe's validated config (:mod:`trainlock.pipeline.config`) and a wrapped
command's free-form one (:mod:`trainlock.byoc.userconfig`): the rules for reading and
composing files are the same; only what is validated differs.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError


def read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except IsADirectoryError:
        raise ConfigError(f"config path is a directory, not a YAML file: {path}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        document = yaml.safe_load(text.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {path} is not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "malformed YAML"
        raise ConfigError(f"config file {path} is not valid YAML{where}: {problem}") from None
    if document is None:
        raise ConfigError(f"config file {path} is empty; see examples/purchase/config.yaml for a starting point")
    if not isinstance(document, dict):
        raise ConfigError(f"config file {path} must hold a mapping of keys, found a {type(document).__name__}")
    return {str(key): value for key, value in document.items()}


def deep_merge(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``overlay`` onto ``base``: mappings merge key by key, anything else replaces."""
    merged = copy.deepcopy(dict(base))
    for key, value in overlay.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def parse_override(text: str) -> tuple[str, Any]:
    """Split ``dotted.key=value``; the value is read as YAML (numbers, booleans, null, lists)."""
    key, sep, value_text = text.partition("=")
    key = key.strip()
    if not sep or not key or any(not part for part in key.split(".")):
        raise ConfigError(
            f"--set '{text}': expected dotted.key=value, e.g. --set models.random_forest.n_estimators=100"
        )
    try:
        value = yaml.safe_load(value_text) if value_text.strip() else ""
    except yaml.YAMLError:
        value = value_text
    return key, value


def set_dotted(target: dict[str, Any], dotted_key: str, value: Any) -> None:
    node = target
    parts = dotted_key.split(".")
    for index, part in enumerate(parts[:-1]):
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            prefix = ".".join(parts[: index + 1])
            raise ConfigError(f"--set {dotted_key}: '{prefix}' holds a {type(child).__name__}, not a mapping")
        node = child
    node[parts[-1]] = value
