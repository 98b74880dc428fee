"""Many trials at once: the portfolio store (DuckDB), its incremental build, and its queries."""
