"""Engines: the OpenAI-compatible client, SSE parsing, engine detection, the embedded llama-server."""
