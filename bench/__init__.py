"""Benchmarks with their baselines (see docs/PERFORMANCE.md)."""

import services  # noqa: F401  (applies the project's warning filters first)
