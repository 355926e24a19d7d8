"""Connectors: bring history in from other systems, and send lineage out to them.

Nobody starts with an empty history. Each connector is one module, imports its system's
SDK only when called (behind an extra: a missing one raises
:class:`~mlineage.errors.MissingDependency` naming the ``pip install`` line), and uses only
the public API of the tracker. Every imported version records where it came from in
:attr:`ModelVersion.origin <mlineage.ModelVersion.origin>`, so a second import of the same
source adds only what is new and says what it skipped (an :class:`ImportSummary`).

``mlineage.connectors.mlflow``
    ``import_runs`` (an MLflow experiment's finished runs become versions) and ``export``
    (versions become MLflow runs), extra ``mlineage[mlflow]``.
``mlineage.connectors.hf``
    ``import_model_card``, ``import_model_tree`` (Hugging Face model cards: ``base_model``
    edges carry ``base_model_relation``) and ``model_card_metadata``, extra
    ``mlineage[hf]``.
``mlineage.connectors.dvc``
    ``import_repo`` (``.dvc`` files and ``dvc.lock`` stages as data snapshots, params and
    metrics, one version per git commit), extra ``mlineage[dvc]``.
``mlineage.connectors.evidently``
    Evidently reports attached to versions as evidence, extra ``mlineage[evidently]``.
``mlineage.connectors.openlineage``
    The lineage as OpenLineage run events, extra ``mlineage[openlineage]``.

The shell verbs are ``mlineage import mlflow|hf|dvc`` and ``mlineage export ...``; see
docs/connectors.md for what maps to what and what is lost. Importing this package imports
no connector and no SDK.
"""

from mlineage.connectors._common import ImportSummary, require

__all__ = ["ImportSummary", "require"]
