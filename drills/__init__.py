"""Drills: faults played against the platform's real processes, with figures (`make drill`,
docs/operations.md). Each is also a test at a size CI can afford (tests/system/test_drills.py)."""
