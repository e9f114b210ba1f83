"""`trainlock sbom`: CycloneDX 1.6 and SPDX 2.3 documents that their own libraries' validators accept."""

from __future__ import annotations

import json
import shutil
import sys
from importlib import metadata

import pytest
import yaml

from conftest import EXAMPLE, FAST_CONFIG
from trainlock.hashing import sha256_file


@pytest.fixture(scope="module")
def shared_run(tmp_path_factory):
    """One small trained run for the tests that only read it: (run_id, run_dir, data path)."""
    from trainlock.ops.train import train
    from trainlock.store import open_store

    folder = tmp_path_factory.mktemp("sbom")
    shutil.copy(EXAMPLE / "data.csv", folder / "data.csv")
    (folder / "config.yaml").write_text(yaml.safe_dump(FAST_CONFIG, sort_keys=False))
    result = train([folder / "config.yaml"], profiles=["tiny"], store=open_store(folder / "runs"))
    return result.run_id, result.run_dir, folder / "data.csv"


@pytest.fixture
def sboms(cli, shared_run, tmp_path):
    """Both SBOMs of the shared run, written with --out."""
    run_id, run_dir, data = shared_run
    paths = {}
    for fmt in ("cyclonedx", "spdx"):
        path = tmp_path / f"sbom.{fmt}.json"
        result = cli("sbom", run_dir, "--format", fmt, "--out", path)
        assert result.code == 0, result.err
        assert result.out.startswith(f"wrote {fmt} SBOM of run {run_id} to {path} (")
        paths[fmt] = path
    return run_dir, data, paths


def test_cyclonedx_validates_against_the_1_6_schema(sboms):
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    _, _, paths = sboms
    text = paths["cyclonedx"].read_text()
    validator = JsonStrictValidator(SchemaVersion.V1_6)
    assert validator.validate_str(text) is None
    document = json.loads(text)
    assert (document["bomFormat"], document["specVersion"]) == ("CycloneDX", "1.6")
    # the validator is not a rubber stamp: the same document with a hash of the wrong length fails
    document["components"][0]["hashes"] = [{"alg": "SHA-256", "content": "abc"}]
    assert validator.validate_str(json.dumps(document)) is not None


def test_spdx_validates_as_spdx_2_3(sboms):
    from spdx_tools.spdx.parser.parse_anything import parse_file
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    _, _, paths = sboms
    parsed = parse_file(str(paths["spdx"]))
    assert parsed.creation_info.spdx_version == "SPDX-2.3"
    assert validate_full_spdx_document(parsed) == []
    # and it does reject a broken document: a relationship to an element that does not exist
    broken = json.loads(paths["spdx"].read_text())
    broken["relationships"].append(
        {"spdxElementId": "SPDXRef-Run", "relationshipType": "DEPENDS_ON", "relatedSpdxElement": "SPDXRef-Nowhere"}
    )
    broken_path = paths["spdx"].with_name("broken.spdx.json")
    broken_path.write_text(json.dumps(broken))
    assert validate_full_spdx_document(parse_file(str(broken_path))) != []


def test_cyclonedx_names_packages_with_purls_and_artifacts_with_hashes(sboms):
    run_dir, data, paths = sboms
    document = json.loads(paths["cyclonedx"].read_text())
    components = {c["bom-ref"]: c for c in document["components"]}
    sklearn = metadata.version("scikit-learn")
    package = components[f"pkg:pypi/scikit-learn@{sklearn}"]
    assert (package["name"], package["version"], package["purl"]) == (
        "scikit-learn",
        sklearn,
        f"pkg:pypi/scikit-learn@{sklearn}",
    )
    dataset = components["dataset"]
    assert dataset["type"] == "data"
    assert dataset["hashes"] == [{"alg": "SHA-256", "content": sha256_file(data)}]
    assert components["model"]["type"] == "machine-learning-model"
    assert components["model"]["hashes"][0]["content"] == sha256_file(run_dir / "model.skops")
    assert components["config"]["hashes"][0]["content"] == sha256_file(run_dir / "config.snapshot.yaml")
    depends = {d["ref"]: set(d.get("dependsOn", [])) for d in document["dependencies"]}
    assert {"dataset", "config", f"pkg:pypi/scikit-learn@{sklearn}"} <= depends["model"]
    assert {"model", "dataset", "config"} <= depends["run"]


def test_spdx_names_packages_with_purls_and_artifacts_with_checksums(sboms):
    run_dir, data, paths = sboms
    document = json.loads(paths["spdx"].read_text())
    packages = {p["SPDXID"]: p for p in document["packages"]}
    sklearn = metadata.version("scikit-learn")
    package = packages["SPDXRef-Package-scikit-learn"]
    assert package["versionInfo"] == sklearn
    assert package["externalRefs"] == [
        {
            "referenceCategory": "PACKAGE_MANAGER",
            "referenceType": "purl",
            "referenceLocator": f"pkg:pypi/scikit-learn@{sklearn}",
        }
    ]
    assert packages["SPDXRef-Dataset"]["checksums"] == [{"algorithm": "SHA256", "checksumValue": sha256_file(data)}]
    assert packages["SPDXRef-Model"]["checksums"][0]["checksumValue"] == sha256_file(run_dir / "model.skops")
    relations = {
        (r["spdxElementId"], r["relationshipType"], r["relatedSpdxElement"]) for r in document["relationships"]
    }
    assert {
        ("SPDXRef-DOCUMENT", "DESCRIBES", "SPDXRef-Run"),
        ("SPDXRef-Model", "GENERATED_FROM", "SPDXRef-Dataset"),
        ("SPDXRef-Model", "GENERATED_FROM", "SPDXRef-Config"),
        ("SPDXRef-Run", "CONTAINS", "SPDXRef-Model"),
        ("SPDXRef-Run", "DEPENDS_ON", "SPDXRef-Package-scikit-learn"),
    } <= relations


def test_the_same_run_gives_the_same_bytes_on_stdout(cli, sboms):
    run_dir, _, paths = sboms
    for fmt, path in paths.items():
        printed = cli("sbom", run_dir, "--format", fmt)
        assert printed.code == 0
        assert printed.out == path.read_text()


def test_predict_run_sbom_points_at_its_parents_model(cli, shared_run, tmp_path):
    run_id, run_dir, data = shared_run
    predicted = cli("predict", run_dir, data, "--store", tmp_path / "store", "--json")
    assert predicted.code == 0, predicted.err
    document = cli("sbom", predicted.json()["run_dir"], "--store", tmp_path / "store").json()
    model = next(c for c in document["components"] if c["bom-ref"] == "model")
    assert {"name": "trainlock:run", "value": run_id} in model["properties"]
    assert model["hashes"][0]["content"] == sha256_file(run_dir / "model.skops")


def test_sbom_refuses_a_run_whose_environment_json_changed(cli, shared_run, tmp_path):
    run_id, original, _ = shared_run
    run_dir = tmp_path / "runs" / run_id
    shutil.copytree(original, run_dir)
    path = run_dir / "environment.json"
    path.write_text(path.read_text().replace('"scikit-learn": "', '"scikit-learn": "9'))
    result = cli("sbom", run_dir)
    assert result.code == 1
    assert result.err == (
        f"trainlock: error: {path} does not match its recorded sha256, so the packages it lists "
        f"cannot be trusted; run 'trainlock verify {run_id}'\n"
    )


@pytest.mark.parametrize("module", ["cyclonedx", "spdx_tools"])
def test_missing_sbom_extra_names_the_install_line(cli, shared_run, monkeypatch, module):
    _, run_dir, _ = shared_run
    monkeypatch.setitem(sys.modules, module, None)  # as if the extra were not installed
    result = cli("sbom", run_dir)
    assert result.code == 2
    assert result.err == (
        f"trainlock: error: trainlock sbom needs the sbom extra ({module} is not installed): "
        "pip install 'trainlock[sbom]'\n"
    )
