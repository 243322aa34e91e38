"""Pseudonymised research exports: long, wide and item-level files in CSV, Parquet, SPSS and
Stata, with a data package, a codebook and a manifest (see ``research.export_research`` and
docs/research.md)."""

DEFAULT_K = 5  # the smallest k allowed without allow_small_k; the web's small-count limit

