"""`trainlock verify`: re-check every hash a run's lineage records, whatever the kind of run.

The run's own checks are here: every file of the folder, the lineage's named entries,
the files it names in a parent run, the dataset, the declared ``--in``/``--out`` files of
a wrapped command, and the model and predictions fingerprints. Checks that need more
than the run folder (the store's ledger, the running environment, a signature) are
*providers* handed in by the caller, so that this module depends on none of them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from ..checks import Check, CheckReport, Status
from ..errors import DataError, TrainlockError
from ..hashcache import HashCache, hash_files
from ..hashing import sha256_file
from ..lineage import DeclaredFile, FileRef, Lineage
from ..run import LINEAGE, PREDICTIONS, RunFolder, declared_difference, describe_declared
from ..store import Store

#: a check that needs more than the run folder: the ledger, the environment, an attestation
CheckProvider = Callable[[RunFolder, Lineage, Store], list[Check]]


def ledger_provider(folder: RunFolder, lineage: Lineage, store: Store) -> list[Check]:
    """The run's line in its store's ledger matches its lineage.json."""
    return [store.ledger_check(folder, sha256_file(folder.file(LINEAGE)))]


def verify(
    run: str,
    *,
    store: Store,
    data_path: str | None = None,
    workdir: str | None = None,
    rehash: bool = False,
    providers: Sequence[CheckProvider] = (),
) -> CheckReport:
    """Re-hash every input and output named in lineage.json and re-derive the fingerprints.

    The dataset's hash comes from the store's stat cache when the file is unchanged;
    ``rehash=True`` reads it again whatever the cache says. A wrapped command's declared files
    are checked where it ran, or below ``workdir`` for a moved copy of that folder. Then each
    provider adds its checks.
    """
    folder = store.find(run)
    lineage = folder.lineage()
    report = CheckReport(folder.run_id, str(folder.path), lineage.kind)
    changed_files: set[str] = set()
    present = [folder.file(output.path) for output in lineage.outputs.values()]
    hashes = hash_files(p for p in present if p.is_file())  # all outputs at once, in parallel
    for name, output in sorted(lineage.outputs.items()):
        check = _file_check(f"output {name}", folder, output.path, output.sha256, output.size, hashes)
        if check.status != "ok":
            changed_files.add(output.path)
        report.checks.append(check)
    for entry_name in ("config", "model", "threshold"):
        entry = getattr(lineage, entry_name)
        if entry is None:
            continue
        if entry.run is None:
            report.checks.extend(_named_entry_check(entry_name, entry, lineage))
        else:
            report.checks.append(_parent_entry_check(entry_name, entry, store))
    if lineage.dataset is not None:
        cache = HashCache(None) if rehash else store.hash_cache
        report.checks.append(_dataset_check(lineage.dataset, data_path, cache))
    report.checks.extend(_declared_checks(lineage, workdir))
    report.checks.extend(_command_file_checks(lineage, workdir))
    report.checks.extend(_child_checks(lineage, store))
    if lineage.kind == "train":
        report.checks.append(_model_fingerprint_check(lineage, folder, changed_files))
    if lineage.fingerprints.get("predictions"):
        report.checks.append(_predictions_check(lineage, folder, changed_files))
    for provider in providers:
        report.checks.extend(provider(folder, lineage, store))
    return report


def _file_check(
    name: str,
    folder: RunFolder,
    relative: str,
    expected: str | None,
    size: int | None = None,
    known: dict[Path, str] | None = None,
) -> Check:
    path = folder.file(relative)
    if not path.is_file():
        return Check(name, "missing", relative, expected, None, "file is missing")
    actual = (known or {}).get(path) or sha256_file(path)
    if actual != expected:
        actual_size = path.stat().st_size
        detail = (
            f"size {actual_size}, recorded {size}" if size is not None and size != actual_size else "content changed"
        )
        return Check(name, "changed", relative, expected, actual, detail)
    return Check(name, "ok", relative, expected, actual)


def _named_entry_check(name: str, entry: FileRef, lineage: Lineage) -> list[Check]:
    output = lineage.outputs.get(entry.path)
    if output is None or output.sha256 != entry.sha256:
        return [
            Check(
                f"{name} entry",
                "changed",
                entry.path,
                entry.sha256,
                output.sha256 if output else None,
                "lineage entry disagrees with outputs",
            )
        ]
    return []


def _parent_entry_check(name: str, entry: FileRef, store: Store) -> Check:
    """A predict run names its parent's model, config and threshold: check them in the parent."""
    assert entry.run is not None
    try:
        parent = store.find(entry.run)
    except TrainlockError:
        return Check(
            f"parent {name}",
            "missing",
            entry.path,
            entry.sha256,
            None,
            f"parent run {entry.run} not found in the store {store.location}",
        )
    return _file_check(f"parent {name}", parent, entry.path, entry.sha256)


def _dataset_check(dataset: FileRef, data_path: str | None, cache: HashCache) -> Check:
    path = Path(data_path or dataset.path)
    if not path.is_file():
        return Check(
            "dataset",
            "missing",
            str(path),
            dataset.sha256,
            None,
            "dataset not found at its recorded path; pass --data PATH to check a moved copy",
        )
    actual = cache.sha256(path)
    status: Status = "ok" if actual == dataset.sha256 else "changed"
    return Check("dataset", status, str(path), dataset.sha256, actual, None if status == "ok" else "content changed")


def _declared_checks(lineage: Lineage, workdir: str | None) -> list[Check]:
    """A wrapped command's ``--in`` and ``--out`` files and folders, re-hashed where the command ran."""
    if not lineage.declared_inputs and not lineage.declared_outputs:
        return []
    recorded_cwd = lineage.command.cwd if lineage.command is not None else "."
    cwd = Path(workdir or recorded_cwd)
    checks = []
    for role, declared in (("input", lineage.declared_inputs), ("output", lineage.declared_outputs)):
        for path, recorded in sorted(declared.items()):
            checks.append(_declared_check(f"{role} {path}", recorded, cwd))
    return checks


def _command_file_checks(lineage: Lineage, workdir: str | None) -> list[Check]:
    """A wrapped command's own files (its script), hashed when it ran: an edited script is a changed run."""
    files = (lineage.code or {}).get("command_files") or {}
    if not files or lineage.command is None:
        return []
    cwd = Path(workdir or lineage.command.cwd)
    checks = []
    for relative, expected in sorted(files.items()):
        path = cwd / relative
        if not path.is_file():
            checks.append(Check(f"command file {relative}", "missing", relative, expected, None, f"not found in {cwd}"))
            continue
        actual = sha256_file(path)
        status: Status = "ok" if actual == expected else "changed"
        checks.append(
            Check(
                f"command file {relative}",
                status,
                relative,
                expected,
                actual,
                None if status == "ok" else "content changed",
            )
        )
    return checks


def _child_checks(lineage: Lineage, store: Store) -> list[Check]:
    """A sweep's runs are part of its result: each must still be in the store, complete."""
    checks = []
    for child in lineage.children:
        try:
            store.find(child)
        except TrainlockError as exc:
            checks.append(Check(f"child run {child}", "missing", None, None, None, str(exc)))
            continue
        checks.append(Check(f"child run {child}", "ok"))
    return checks


def _declared_check(name: str, recorded: DeclaredFile, cwd: Path) -> Check:
    try:
        now = describe_declared(recorded.path, cwd=cwd, role="input")
    except DataError:
        return Check(
            name,
            "missing",
            recorded.path,
            recorded.sha256,
            None,
            f"not found in {cwd}; pass --workdir DIR to check a moved copy of the working folder",
        )
    difference = declared_difference(recorded, now)
    if difference is None:
        return Check(name, "ok", recorded.path, recorded.sha256, now.sha256)
    return Check(name, "changed", recorded.path, recorded.sha256, now.sha256, difference)


def _model_fingerprint_check(lineage: Lineage, folder: RunFolder, changed: set[str]) -> Check:
    from ..fingerprint import fingerprint
    from ..model_io import load_run_model

    assert lineage.model is not None
    path = lineage.model.path
    expected = lineage.fingerprints.get("model")
    if path in changed:
        # never deserialise a model whose bytes are not the recorded ones
        return Check("model fingerprint", "skipped", path, expected, None, "model file changed; not loaded")
    try:
        actual = fingerprint(load_run_model(folder, lineage))
    except TrainlockError as exc:
        return Check("model fingerprint", "changed", path, expected, None, str(exc))
    status: Status = "ok" if actual == expected else "changed"
    return Check("model fingerprint", status, path, expected, actual)


def _predictions_check(lineage: Lineage, folder: RunFolder, changed: set[str]) -> Check:
    from ..predictions import predictions_fingerprint, read_predictions

    expected = lineage.fingerprints.get("predictions")
    path = folder.file(PREDICTIONS)
    if not path.is_file():
        return Check("predictions fingerprint", "missing", PREDICTIONS.name, expected, None, "file is missing")
    try:
        actual = predictions_fingerprint(read_predictions(path))
    except Exception as exc:  # a damaged CSV can fail pandas in many ways; all mean "changed"
        return Check(
            "predictions fingerprint", "changed", PREDICTIONS.name, expected, None, f"unreadable: {type(exc).__name__}"
        )
    status: Status = "ok" if actual == expected else "changed"
    return Check("predictions fingerprint", status, PREDICTIONS.name, expected, actual)
