"""Report: a self-contained HTML page (and PNG charts) over a corpus of envelopes."""
