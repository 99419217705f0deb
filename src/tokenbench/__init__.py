"""tokenbench: compare large language models on the same hardware, engine and workload."""

__version__ = "0.1.0"
