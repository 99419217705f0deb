"""Workloads: where prompts come from (synthetic exact-length text for now)."""
