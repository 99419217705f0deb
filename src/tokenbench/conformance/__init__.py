"""Scoring other load generators: run one against the reference server, read its result file,
and compare what it reported with the server's logged truth and with tokenbench's own error."""
