"""SBOMs of a run: CycloneDX 1.6 JSON (cyclonedx-python-lib) or SPDX 2.3 JSON (spdx-tools).

The document lists the packages recorded in the run's environment.json (with purls and
versions) and the run's dataset, config and model (with SHA-256 hashes), with how they
relate: the model is generated from the dataset and config, the run depends on the
packages. Each document is validated with its library's own validator before it is
returned, so trainlock never hands out an SBOM that its format's schema rejects.

The same run always gives the same bytes: the serial number and namespace derive from
the lineage's hash and the timestamp is the run's completion time, so a reviewer can
regenerate an SBOM and compare it with the one they were sent.
"""

from __future__ import annotations

import io
import json
import os
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from .. import __version__, atomic
from ..errors import ConfigError, IntegrityError
from ..hashing import sha256_file
from ..lineage import FileRef
from ..run import ENVIRONMENT, LINEAGE, RunFolder
from ..store import Store
from .errors import MissingExtraError

Format = Literal["cyclonedx", "spdx"]
FORMATS: tuple[Format, ...] = ("cyclonedx", "spdx")
INSTALL_HINT = "pip install 'trainlock[sbom]'"


@dataclass(frozen=True)
class Artifact:
    """A file the run used or made: dataset, config or model."""

    role: Literal["dataset", "config", "model"]
    name: str
    sha256: str
    run: str | None  # the run folder holding it when it is a parent's (predict runs)


@dataclass
class RunMaterial:
    """What an SBOM describes, read from a run folder whose environment.json is verified."""

    run_id: str
    kind: str
    lineage_sha256: str
    finished: datetime
    packages: dict[str, str]
    artifacts: list[Artifact] = field(default_factory=list)

    def artifact(self, role: str) -> Artifact | None:
        return next((a for a in self.artifacts if a.role == role), None)


@dataclass(frozen=True)
class SbomResult:
    run_id: str
    format: Format
    document: dict[str, Any]
    path: Path | None
    components: int


def require_sbom_extra() -> None:
    """Fail with the install line when the ``sbom`` extra is missing."""
    try:
        import cyclonedx  # noqa: F401
        import jsonschema  # noqa: F401  (cyclonedx-python-lib's JSON validation)
        import packageurl  # noqa: F401
        import spdx_tools  # noqa: F401
    except ImportError as exc:
        raise MissingExtraError(
            f"trainlock sbom needs the sbom extra ({exc.name} is not installed): {INSTALL_HINT}"
        ) from None


def sbom(
    run: str, *, store: Store, format: Format = "cyclonedx", out: str | os.PathLike[str] | None = None
) -> SbomResult:
    """Build, validate and (with ``out``) write the SBOM of the run ``store`` finds for ``run``."""
    if format not in FORMATS:
        raise ConfigError(f"--format {format!r} is not one of {', '.join(FORMATS)}")
    require_sbom_extra()
    folder = store.find(run)
    material = read_material(folder)
    document = cyclonedx_document(material) if format == "cyclonedx" else spdx_document(material)
    path = None
    if out is not None:
        path = Path(out)
        atomic.write_json(path, document)
    count = len(document.get("components", [])) if format == "cyclonedx" else len(document.get("packages", []))
    return SbomResult(folder.run_id, format, document, path, count)


def read_material(folder: RunFolder) -> RunMaterial:
    """What the SBOM of the complete run in ``folder`` describes; its environment.json must match its hash."""
    lineage = folder.lineage()
    environment = lineage.outputs.get(ENVIRONMENT.name)
    env_path = folder.file(environment.path if environment else ENVIRONMENT)
    if environment is None or not env_path.is_file() or sha256_file(env_path) != environment.sha256:
        raise IntegrityError(
            f"{env_path} does not match its recorded sha256, so the packages it lists cannot be "
            f"trusted; run 'trainlock verify {lineage.run_id}'"
        )
    packages = folder.environment().get("packages") or {}
    material = RunMaterial(
        lineage.run_id,
        lineage.kind,
        sha256_file(folder.file(LINEAGE)),
        _finished(folder),
        dict(sorted(packages.items())),
    )
    for role in ("dataset", "config", "model"):
        record: FileRef | None = getattr(lineage, role)
        if record is not None and record.sha256:
            material.artifacts.append(Artifact(role, record.path, record.sha256, record.run))
    return material


def _finished(folder: RunFolder) -> datetime:
    ended = folder.completed()
    if ended.get("time_utc"):
        return datetime.strptime(ended["time_utc"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    # no completion event (an older run): the moment lineage.json was written
    return datetime.fromtimestamp(folder.file(LINEAGE).stat().st_mtime, UTC)


def _serial(material: RunMaterial) -> uuid.UUID:
    return uuid.UUID(hex=material.lineage_sha256[:32], version=5)


def _display_name(artifact: Artifact) -> str:
    return Path(artifact.name).name or artifact.name


# -- CycloneDX 1.6 ------------------------------------------------------------------


def cyclonedx_document(material: RunMaterial) -> dict[str, Any]:
    # cyclonedx-python-lib is the sbom extra: loaded only when an SBOM is made
    from cyclonedx.model import HashAlgorithm, HashType, Property
    from cyclonedx.model.bom import Bom, BomMetaData
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.model.tool import ToolRepository
    from cyclonedx.output.json import JsonV1Dot6
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator
    from packageurl import PackageURL

    kinds = {"dataset": ComponentType.DATA, "config": ComponentType.FILE, "model": ComponentType.MACHINE_LEARNING_MODEL}
    root = Component(
        name=f"trainlock-run-{material.run_id}",
        version=material.run_id,
        type=ComponentType.DATA,
        bom_ref="run",
        description=f"trainlock {material.kind} run {material.run_id}",
    )
    artifacts: dict[str, Component] = {}
    for artifact in material.artifacts:
        properties = [
            Property(name="trainlock:role", value=artifact.role),
            Property(name="trainlock:path", value=artifact.name),
        ]
        if artifact.run:
            properties.append(Property(name="trainlock:run", value=artifact.run))
        artifacts[artifact.role] = Component(
            name=_display_name(artifact),
            type=kinds[artifact.role],
            bom_ref=artifact.role,
            hashes=[HashType(alg=HashAlgorithm.SHA_256, content=artifact.sha256)],
            properties=properties,
        )
    packages = [
        Component(
            name=name,
            version=version,
            type=ComponentType.LIBRARY,
            bom_ref=f"pkg:pypi/{name}@{version}",
            purl=PackageURL(type="pypi", name=name, version=version),
        )
        for name, version in material.packages.items()
    ]
    tool = Component(name="trainlock", version=__version__, type=ComponentType.APPLICATION)
    bom = Bom(
        serial_number=_serial(material),
        metadata=BomMetaData(component=root, timestamp=material.finished, tools=ToolRepository(components=[tool])),
    )
    for component in [*artifacts.values(), *packages]:
        bom.components.add(component)
    bom.register_dependency(root, [*artifacts.values(), *packages])
    model = artifacts.get("model")
    if model is not None and material.kind == "train":
        # the model was made from the data and config by these packages
        bom.register_dependency(model, [c for role, c in artifacts.items() if role != "model"] + packages)
    text = JsonV1Dot6(bom).output_as_string()
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    if error is not None:
        raise RuntimeError(f"trainlock built a CycloneDX document that fails its schema ({error}); please report this")
    return json.loads(text)


# -- SPDX 2.3 -----------------------------------------------------------------------


def spdx_document(material: RunMaterial) -> dict[str, Any]:
    # spdx-tools, like cyclonedx-python-lib, is the sbom extra: loaded only when an SBOM is made
    from spdx_tools.spdx.model import (
        Actor,
        ActorType,
        Checksum,
        ChecksumAlgorithm,
        CreationInfo,
        Document,
        ExternalPackageRef,
        ExternalPackageRefCategory,
        Package,
        PackagePurpose,
        Relationship,
        RelationshipType,
        SpdxNoAssertion,
    )
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document
    from spdx_tools.spdx.writer.json.json_writer import write_document_to_stream

    def package(spdx_id: str, name: str, **fields: Any) -> Package:
        return Package(spdx_id=spdx_id, name=name, download_location=SpdxNoAssertion(), files_analyzed=False, **fields)

    root_id = "SPDXRef-Run"
    packages = [
        package(
            root_id,
            f"trainlock-run-{material.run_id}",
            version=material.run_id,
            primary_package_purpose=PackagePurpose.OTHER,
            summary=f"trainlock {material.kind} run {material.run_id}",
        )
    ]
    relationships = [Relationship("SPDXRef-DOCUMENT", RelationshipType.DESCRIBES, root_id)]
    artifact_ids = {}
    for artifact in material.artifacts:
        spdx_id = f"SPDXRef-{artifact.role.capitalize()}"
        artifact_ids[artifact.role] = spdx_id
        origin = f" of run {artifact.run}" if artifact.run else ""
        packages.append(
            package(
                spdx_id,
                _display_name(artifact),
                file_name=artifact.name,
                checksums=[Checksum(ChecksumAlgorithm.SHA256, artifact.sha256)],
                primary_package_purpose=PackagePurpose.FILE,
                comment=f"the run's {artifact.role}{origin}",
            )
        )
        # the run folder holds its own config and model; the dataset and a parent's files are outside it
        own = artifact.role != "dataset" and not artifact.run
        relationships.append(
            Relationship(root_id, RelationshipType.CONTAINS if own else RelationshipType.DEPENDS_ON, spdx_id)
        )
    if "model" in artifact_ids and material.kind == "train":
        for role in ("dataset", "config"):
            if role in artifact_ids:
                relationships.append(
                    Relationship(artifact_ids["model"], RelationshipType.GENERATED_FROM, artifact_ids[role])
                )
    for name, version in material.packages.items():
        spdx_id = "SPDXRef-Package-" + re.sub(r"[^A-Za-z0-9.-]", "-", name)
        purl = f"pkg:pypi/{name}@{version}"
        packages.append(
            package(
                spdx_id,
                name,
                version=version,
                primary_package_purpose=PackagePurpose.LIBRARY,
                external_references=[ExternalPackageRef(ExternalPackageRefCategory.PACKAGE_MANAGER, "purl", purl)],
            )
        )
        relationships.append(Relationship(root_id, RelationshipType.DEPENDS_ON, spdx_id))
    creation = CreationInfo(
        spdx_version="SPDX-2.3",
        spdx_id="SPDXRef-DOCUMENT",
        name=f"trainlock run {material.run_id}",
        # the SPDX spec's suggested form for a namespace owned by no web site
        document_namespace=f"https://spdx.org/spdxdocs/trainlock-{material.run_id}-{_serial(material)}",
        creators=[Actor(ActorType.TOOL, f"trainlock-{__version__}")],
        created=material.finished.replace(microsecond=0),
    )
    document = Document(creation, packages=packages, relationships=relationships)
    messages = validate_full_spdx_document(document)
    if messages:
        raise RuntimeError(
            f"trainlock built an SPDX document that fails validation ({messages[0].validation_message}); "
            "please report this"
        )
    stream = io.StringIO()
    write_document_to_stream(document, stream, validate=False)
    return json.loads(stream.getvalue())
