"""`trainlock lint`: a static scan of training code for what breaks reproducibility.

Findings read ``file:line:col CODE message``. A line ending in
``# trainlock: ignore[TL003]`` (or ``ignore[TL003,TL005]``) suppresses those codes on
that line. Rules are chosen in ``pyproject.toml``::

    [tool.trainlock.lint]
    select = ["TL001", "TL002"]   # default: every rule
    ignore = ["TL004"]

The rules and their codes are declared in :mod:`trainlock.lint.rules`.
"""

from __future__ import annotations

import io
import os
import re
import tokenize
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError, DataError
from .rules import RULES
from .scan import Finding, scan_source

__all__ = ["Finding", "LintReport", "lint_paths", "load_settings"]

_SUPPRESSION = re.compile(r"#\s*trainlock:\s*ignore\[([A-Z0-9,\s]+)\]")


@dataclass(frozen=True)
class Settings:
    select: frozenset[str]
    source: str | None = None


@dataclass
class LintReport:
    findings: list[Finding] = field(default_factory=list)
    files: int = 0
    rules: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.findings

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "files": self.files,
            "rules": list(self.rules),
            "findings": [finding.to_dict() for finding in self.findings],
        }


def lint_paths(paths: Sequence[str | os.PathLike[str]], *, settings: Settings | None = None) -> LintReport:
    """Scan every ``.py`` file under ``paths`` (files or folders, in sorted order)."""
    settings = settings or load_settings()
    files = _python_files(paths)
    report = LintReport(files=len(files), rules=tuple(sorted(settings.select)))
    for path in files:
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise DataError(f"cannot read {path} ({exc}); lint UTF-8 Python files") from None
        try:
            findings = scan_source(source, str(path))
        except SyntaxError as exc:
            raise DataError(f"{path}:{exc.lineno}: cannot parse ({exc.msg}); fix the syntax, then lint again") from None
        suppressed = _suppressions(source)
        report.findings.extend(
            f for f in findings if f.code in settings.select and f.code not in suppressed.get(f.line, ())
        )
    return report


def load_settings(start: str | os.PathLike[str] | None = None) -> Settings:
    """``[tool.trainlock.lint]`` of the nearest pyproject.toml at or above ``start`` (default: cwd)."""
    import tomllib

    folder = Path(start or Path.cwd()).absolute()
    for candidate in [folder, *folder.parents]:
        pyproject = candidate / "pyproject.toml"
        if pyproject.is_file():
            try:
                document = tomllib.loads(pyproject.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                raise ConfigError(
                    f"{pyproject} is not valid TOML ({exc}); fix it or lint from another folder"
                ) from None
            section = document.get("tool", {}).get("trainlock", {}).get("lint", {})
            return settings_from(section, str(pyproject))
    return Settings(frozenset(RULES))


def settings_from(section: Any, source: str | None = None) -> Settings:
    """Rule selection from a ``[tool.trainlock.lint]`` table: ``select`` (default all) minus ``ignore``."""
    where = f" in {source}" if source else ""
    if not isinstance(section, dict):
        raise ConfigError(f"[tool.trainlock.lint]{where} must be a table with select and/or ignore")
    unknown_keys = sorted(set(section) - {"select", "ignore"})
    if unknown_keys:
        raise ConfigError(
            f"[tool.trainlock.lint]{where}: unknown key(s) {', '.join(unknown_keys)}; use select and ignore"
        )
    chosen = {}
    for key in ("select", "ignore"):
        value = section.get(key, sorted(RULES) if key == "select" else [])
        if not isinstance(value, list) or not all(isinstance(code, str) for code in value):
            raise ConfigError(f'[tool.trainlock.lint] {key}{where} must be a list of rule codes, e.g. ["TL001"]')
        unknown = sorted(set(value) - set(RULES))
        if unknown:
            raise ConfigError(
                f"[tool.trainlock.lint] {key}{where}: unknown rule(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(RULES))}"
            )
        chosen[key] = set(value)
    return Settings(frozenset(chosen["select"] - chosen["ignore"]), source)


def _python_files(paths: Sequence[str | os.PathLike[str]]) -> list[Path]:
    if not paths:
        raise DataError("no path to lint; pass files or folders, e.g. trainlock lint train.py src/")
    found: set[Path] = set()
    for given in paths:
        path = Path(given)
        if path.is_file():
            found.add(path)
        elif path.is_dir():
            found.update(p for p in path.rglob("*.py") if p.is_file())
        else:
            raise DataError(f"lint path {given} does not exist; pass Python files or folders")
    return sorted(found)


def _suppressions(source: str) -> dict[int, set[str]]:
    """Line -> codes suppressed there by ``# trainlock: ignore[...]`` comments (real comments only)."""
    suppressed: dict[int, set[str]] = {}
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.COMMENT:
                match = _SUPPRESSION.search(token.string)
                if match:
                    codes = {code.strip() for code in match.group(1).split(",") if code.strip()}
                    suppressed.setdefault(token.start[0], set()).update(codes)
    except (tokenize.TokenError, SyntaxError):
        pass  # ast.parse accepted the file; a tokenizer quirk only loses suppressions
    return suppressed
