"""Exports of a run to other lineage and tracking systems: OpenLineage and MLflow.

Each exporter reads only the run folder (materialised first for an object-storage
store) and imports its client library inside its functions, so ``trainlock --help``
never loads them. Needs the extras ``trainlock[openlineage]`` and ``trainlock[mlflow]``.
"""
