"""Loading the dataset: hash it first, then read it, then check it fits the recipe."""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..errors import DataError
from ..hashcache import HashCache
from ..hashing import sha256_file
from .config import Config


@dataclass(frozen=True)
class Dataset:
    path: Path
    sha256: str
    frame: pd.DataFrame


def dataset_sha256(path: Path, expected: str | None = None, cache: HashCache | None = None) -> str:
    """Hash the data file (through the store's stat cache), failing when it differs from ``expected``."""
    if not path.exists():
        raise DataError(f"data file not found: {path}; check data.path in the config or pass --set data.path=FILE")
    if not path.is_file():
        raise DataError(f"data path is not a file: {path}; point data.path at a CSV or Parquet file")
    try:
        digest = cache.sha256(path) if cache is not None else sha256_file(path)
    except OSError as exc:
        raise DataError(f"cannot read data file {path}: {exc.strerror}") from None
    if expected is not None and digest != expected:
        raise DataError(
            f"data file {path} has sha256 {digest}, but data.sha256 expects {expected}; "
            "use the expected file or update data.sha256"
        )
    return digest


def load_dataset(config: Config, *, path: Path | None = None, cache: HashCache | None = None) -> Dataset:
    path = Path(path or config.data.path)
    digest = dataset_sha256(path, config.data.sha256, cache)
    frame = read_table(path, config.data.format)
    check_frame(frame, config, path)
    return Dataset(path=path, sha256=digest, frame=frame)


def read_table(path: Path, file_format: str = "auto") -> pd.DataFrame:
    kind = file_format
    if kind == "auto":
        kind = "parquet" if path.suffix.lower() in {".parquet", ".pq"} else "csv"
    try:
        if kind == "parquet":
            frame = pd.read_parquet(path)
        else:
            _check_csv_header(path)
            frame = pd.read_csv(path, low_memory=False)
    except DataError:
        raise
    except pd.errors.EmptyDataError:
        raise DataError(f"data file {path} is empty; it needs a header row and data rows") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError, OSError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"cannot read {path} as {kind}: {first_line}") from None
    except Exception as exc:  # pyarrow raises its own exception types for corrupt files
        raise DataError(
            f"cannot read {path} as {kind}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        ) from None
    frame.columns = [str(column) for column in frame.columns]
    return frame


def _check_csv_header(path: Path) -> None:
    # pandas silently renames duplicate columns ("a", "a.1"); a duplicate is a data error here
    with open(path, "rb") as handle:
        first = handle.readline(10_000_000)
    try:
        header = next(csv.reader(io.StringIO(first.decode("utf-8-sig"))), [])
    except UnicodeDecodeError:
        raise DataError(f"data file {path} is not UTF-8 text; save the CSV as UTF-8") from None
    duplicates = sorted(name for name, count in Counter(header).items() if count > 1)
    if duplicates:
        raise DataError(f"data file {path} has duplicate column names: {', '.join(duplicates)}; rename them")


def check_frame(frame: pd.DataFrame, config: Config, path: Path) -> None:
    """Fail early, naming the column, when the data cannot feed the recipe."""
    target = config.data.target
    columns = list(frame.columns)
    if target not in columns:
        raise DataError(f"target column '{target}' is not in {path}; columns are: {', '.join(columns[:20])}")
    missing_needed = sorted(
        {column for column in _columns_used_by_derived(config) if column not in columns}
        | {column for column in config.data.drop_columns if column not in columns}
    )
    if missing_needed:
        raise DataError(f"{path} lacks columns named in the config: {', '.join(missing_needed)}")
    if len(frame) == 0:
        raise DataError(f"data file {path} has a header but no rows")
    if frame[target].isna().any():
        count = int(frame[target].isna().sum())
        raise DataError(f"target column '{target}' has {count} missing values in {path}; drop or fill those rows")
    features = [c for c in columns if c != target and c not in config.data.drop_columns]
    if not features:
        raise DataError(f"{path} has no feature columns besides the target '{target}'")
    empty = [c for c in features if frame[c].isna().all()]
    if empty:
        raise DataError(
            f"columns with no values at all in {path}: {', '.join(empty)}; drop them with data.drop_columns"
        )
    n_splits = max(config.cv.n_splits, config.calibration.cv if config.calibration.method != "none" else 2)
    if config.task == "classification":
        counts = frame[target].value_counts()
        if len(counts) < 2:
            raise DataError(
                f"target '{target}' has a single class ({counts.index[0]!r}) in {path}; classification needs two"
            )
        if len(counts) > 2:
            raise DataError(
                f"target '{target}' has {len(counts)} classes in {path}; the recipe supports binary classification "
                "(use task: regression for a numeric target)"
            )
        # each class must appear in every fold of every split: test split, CV, calibration
        needed = int(n_splits / (1 - config.data.test_size)) + 1
        if int(counts.min()) < needed:
            raise DataError(
                f"class {counts.idxmin()!r} of target '{target}' has {int(counts.min())} rows; "
                f"at least {needed} are needed for {n_splits}-fold CV after the test split"
            )
    else:
        if not pd.api.types.is_numeric_dtype(frame[target]):
            raise DataError(f"target '{target}' is not numeric in {path}; regression needs a numeric target")
        if len(frame) < 2 * n_splits / (1 - config.data.test_size):
            raise DataError(f"{path} has {len(frame)} rows; too few for {n_splits}-fold CV")


def _columns_used_by_derived(config: Config) -> set[str]:
    used: set[str] = set()
    for feature in config.features.derived.values():
        if feature.weighted_sum:
            used.update(feature.weighted_sum)
        if feature.ratio:
            used.update(feature.ratio)
    return used


def feature_columns(frame: pd.DataFrame, config: Config) -> list[str]:
    """The raw input columns of the model, in file order."""
    return [c for c in frame.columns if c != config.data.target and c not in config.data.drop_columns]
