"""Suites: declarative TOML files describing a workload, its generation settings and its load."""

from tokenbench.suites.suite import Suite, load_suite, suite_names

__all__ = ["Suite", "load_suite", "suite_names"]
