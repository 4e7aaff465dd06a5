"""Benchmarks run by hand (`make bench-export`); not part of the test suite."""
