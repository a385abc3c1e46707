"""Benchmarks of the performance budgets (PRODUCT.md §12); run ``uv run python bench/run.py``."""
