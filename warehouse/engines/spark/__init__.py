"""engine = "spark": the pipeline's steps on Spark (engine.py, docs/spark.md)."""

from warehouse.engines.spark.engine import SparkEngine

__all__ = ["SparkEngine"]
