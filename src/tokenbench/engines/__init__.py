"""Engines: OpenAI-compatible client, SSE parsing, engine detection, embedded llama-server."""
