"""The engines that build and publish the warehouse: DuckDB and Spark."""
