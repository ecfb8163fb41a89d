"""engine = \"spark\": the pipeline's steps on Spark (docs/spark.md)."""
