"""Envelopes: signed DSSE/in-toto result files, one per sweep point, with sidecar files."""

from tokenbench.envelope.schema import PREDICATE_TYPE, SCHEMA_VERSION, RunPredicate, Statement

__all__ = ["PREDICATE_TYPE", "SCHEMA_VERSION", "RunPredicate", "Statement"]
