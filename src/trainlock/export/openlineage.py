"""`trainlock export openlineage`: a run as OpenLineage START and COMPLETE RunEvents.

The events are built with the openlineage-python client's own classes (which check
run ids, times and producer URIs as they are made) and posted with its HTTP transport.

* job: ``--namespace`` (default ``trainlock``) and the config file's name;
* run: a UUID derived from the run id (uuid5), so both events, and any later export of
  the same run, name the same OpenLineage run;
* input: the dataset, with a ``version`` facet holding its sha256 and a ``schema`` facet;
* outputs: the model and the test predictions, each with a ``version`` facet (sha256),
  named where they are stored (``file`` + absolute path, or ``s3://bucket`` + key).
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__, atomic
from ..errors import MissingExtraError
from ..lineage import Lineage
from ..run import EVENTS, MODEL, PREDICTIONS, RunFolder
from ..store import Store
from ._run import completed_time, job_name
from .errors import ExportError

#: who made the events (OpenLineage asks for a URI naming the producing software and its version)
PRODUCER = f"urn:trainlock:{__version__}"
DEFAULT_NAMESPACE = "trainlock"
#: run ids become UUIDs under this namespace (uuid5 of "trainlock:run:<run id>")
RUN_UUID_NAMESPACE = uuid.NAMESPACE_URL


@dataclass(frozen=True)
class OpenLineageExport:
    run_id: str
    events: list[dict[str, Any]]
    posted_to: str | None = None
    out: str | None = None
    statuses: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "events": len(self.events),
            "posted_to": self.posted_to,
            "out": self.out,
            "statuses": self.statuses,
        }


def run_uuid(run_id: str) -> str:
    return str(uuid.uuid5(RUN_UUID_NAMESPACE, f"trainlock:run:{run_id}"))


def export_openlineage(
    run: str,
    *,
    store: Store,
    url: str | None = None,
    out: str | os.PathLike[str] | None = None,
    namespace: str = DEFAULT_NAMESPACE,
    job: str | None = None,
    timeout: float = 10.0,
) -> OpenLineageExport:
    """Build the START and COMPLETE events of the run ``store`` finds for ``run``; post them to ``url``
    and/or write them to ``out`` (JSON Lines)."""
    folder = store.find(run)
    events = build_events(folder, folder.lineage(), store=store, namespace=namespace, job=job)
    documents = [_serde().to_dict(event) for event in events]
    statuses = _post(events, url, timeout) if url else []
    if out is not None:
        atomic.write_text(out, "".join(json.dumps(d, sort_keys=True) + "\n" for d in documents))
    return OpenLineageExport(folder.run_id, documents, url, os.fspath(out) if out is not None else None, statuses)


def build_events(
    folder: RunFolder, lineage: Lineage, *, store: Store, namespace: str = DEFAULT_NAMESPACE, job: str | None = None
) -> list[Any]:
    """The run's START and COMPLETE RunEvents; without ``job``, the job is named from the run (see ``job_name``)."""
    ol = _client()
    from openlineage.client.facet_v2 import job_type_job, parent_run, processing_engine_run  # with _client: an extra

    name = job or job_name(folder, lineage, store=store)
    run_facets: dict[str, Any] = {
        "processing_engine": processing_engine_run.ProcessingEngineRunFacet(
            version=__version__, name="trainlock", openlineageAdapterVersion=__version__, producer=PRODUCER
        ),
    }
    if lineage.parent is not None:
        run_facets["parent"] = parent_run.ParentRunFacet(
            run=parent_run.Run(runId=run_uuid(lineage.parent)),
            job=parent_run.Job(namespace=namespace, name=name),
            producer=PRODUCER,
        )
    job_facets = {
        "jobType": job_type_job.JobTypeJobFacet(
            processingType="BATCH", integration="TRAINLOCK", jobType=lineage.kind.upper(), producer=PRODUCER
        )
    }
    run_ref = ol.Run(runId=run_uuid(folder.run_id), facets=run_facets)
    job_ref = ol.Job(namespace=namespace, name=name, facets=job_facets)
    inputs = [_dataset_input(ol, folder, lineage)] if lineage.dataset is not None else []
    outputs = _outputs(ol, folder, lineage)
    started = folder.started().get("time_utc")
    completed = completed_time(folder)
    if not started or not completed:
        raise ExportError(
            f"run {folder.run_id} has no started or completed event in {EVENTS.name}; "
            "it cannot be exported (check it with trainlock verify)"
        )
    return [
        ol.RunEvent(
            eventType=ol.RunState.START,
            eventTime=started,
            run=run_ref,
            job=job_ref,
            inputs=inputs,
            outputs=[],
            producer=PRODUCER,
        ),
        ol.RunEvent(
            eventType=ol.RunState.COMPLETE,
            eventTime=completed,
            run=run_ref,
            job=job_ref,
            inputs=inputs,
            outputs=outputs,
            producer=PRODUCER,
        ),
    ]


def _dataset_input(ol: Any, folder: RunFolder, lineage: Lineage) -> Any:
    from openlineage.client.facet_v2 import dataset_version_dataset, schema_dataset

    dataset = lineage.dataset
    assert dataset is not None
    facets: dict[str, Any] = {
        "version": dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion=dataset.sha256, producer=PRODUCER),
    }
    schema = folder.schema()
    features = [f for f in schema.get("features") or [] if isinstance(f, dict) and f.get("name")]
    if features:
        facets["schema"] = schema_dataset.SchemaDatasetFacet(
            fields=[
                schema_dataset.SchemaDatasetFacetFields(name=str(f["name"]), type=str(f.get("dtype") or ""))
                for f in features
            ],
            producer=PRODUCER,
        )
    return ol.InputDataset(namespace="file", name=str(Path(dataset.path).absolute()), facets=facets)


def _outputs(ol: Any, folder: RunFolder, lineage: Lineage) -> list[Any]:
    from openlineage.client.facet_v2 import dataset_version_dataset

    model_path = lineage.model.path if lineage.model is not None else MODEL.name
    datasets = []
    for relative in (model_path, PREDICTIONS.name):
        entry = lineage.outputs.get(relative)
        if entry is None:
            continue  # a predict run's model is its parent's
        namespace, name = _location(folder, relative)
        version = dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion=entry.sha256, producer=PRODUCER)
        datasets.append(ol.OutputDataset(namespace=namespace, name=name, facets={"version": version}))
    return datasets


def _location(folder: RunFolder, relative: str) -> tuple[str, str]:
    """OpenLineage dataset naming: ``file`` + absolute path, or ``<scheme>://<bucket>`` + key.

    A run read from an object store is a local copy; its ``origin`` is the run's URL there.
    """
    if folder.origin is None:
        return "file", str(folder.path.absolute() / relative)
    scheme, _, rest = folder.origin.partition("://")
    bucket, _, key = rest.partition("/")
    return f"{scheme}://{bucket}", f"{key}/{relative}"


def _post(events: list[Any], url: str, timeout: float) -> list[int]:
    _client()
    from openlineage.client.transport.http import HttpConfig, HttpTransport

    # the transport directly, not OpenLineageClient: the client would also read OPENLINEAGE_* variables and
    # openlineage.yml files and might send the events somewhere else than the URL asked for
    transport = HttpTransport(HttpConfig(url=url, timeout=timeout, retry={"total": 2, "backoff_factor": 0.2}))
    statuses = []
    try:
        for event in events:
            statuses.append(int(transport.emit(event).status_code))
    except Exception as exc:  # requests, urllib3 and the transport's own errors all mean "not delivered"
        raise ExportError(
            f"could not post OpenLineage events to {url}: {exc}; check the URL "
            "(the server base, events go to /api/v1/lineage)"
        ) from None
    finally:
        transport.close()
    return statuses


def _client() -> Any:
    try:  # openlineage-python (an extra) loads only when a run is exported
        from openlineage.client import event_v2
    except ImportError:
        raise MissingExtraError(
            "export openlineage needs openlineage-python; pip install 'trainlock[openlineage]'"
        ) from None
    return event_v2


def _serde() -> Any:
    from openlineage.client.serde import Serde

    return Serde
