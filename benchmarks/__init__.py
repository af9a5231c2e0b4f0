"""Benchmarks: scripts run by hand, not tests. Each prints figures measured in one run."""
