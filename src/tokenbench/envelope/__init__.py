"""Envelopes: one JSON result file per sweep point, with its raw records in a JSONL sidecar."""

from tokenbench.envelope.schema import SCHEMA_VERSION, Envelope

__all__ = ["SCHEMA_VERSION", "Envelope"]
