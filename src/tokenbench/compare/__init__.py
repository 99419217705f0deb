"""Compare: tables over a corpus of envelopes; renderers kept apart from the computation."""
