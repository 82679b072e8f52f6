"""Benchmarks of the mock: speed against a bare endpoint, start-up, memory, soak and fuzzing.

Figures are reported, never asserted: `make bench`, `make soak`, `make fuzz` (see README.md).
"""
