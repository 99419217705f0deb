"""Command line: one module per command (parse → one library call → render → exit code)."""
