"""Data profiled and snapshotted where it lives: Spark, Dask and object stores.

- :mod:`mlineage.engines.spark`: :func:`~mlineage.engines.spark.profile` a Spark
  DataFrame on its executors; :func:`~mlineage.engines.spark.source` lists the files it
  reads (``DataSnapshot.from_spark``);
- :mod:`mlineage.engines.dask`: the same for a Dask DataFrame (``DataSnapshot.from_dask``);
- :mod:`mlineage.engines.objects`: :func:`~mlineage.engines.objects.list_objects` of an
  ``s3://`` / ``gs://`` prefix or a local folder, the snapshot made of it
  (``DataSnapshot.from_uri``), and :func:`~mlineage.engines.objects.profile_parquet`.

Import the submodule you need; each imports its engine (pyspark, dask) only when called.
"""

from mlineage.engines._listing import Listing, ObjectEntry

__all__ = ["Listing", "ObjectEntry"]
