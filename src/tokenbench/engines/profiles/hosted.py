"""Hosted APIs (api.openai.com and the like): known by their host, never probed for an engine."""

from __future__ import annotations

from tokenbench.engines.profile import EngineProfile

# Providers' OpenAI-compatible API hosts, subdomains included. Probing /props or /metrics there
# would only cost requests (on some, money); none of them tokenizes or honours `ignore_eos`.
PROFILE = EngineProfile(
    name="hosted",
    hosts=(
        "api.openai.com",
        "api.anthropic.com",
        "generativelanguage.googleapis.com",
        "api.mistral.ai",
        "api.groq.com",
        "api.together.xyz",
        "api.fireworks.ai",
        "api.deepseek.com",
        "openrouter.ai",
        "openai.azure.com",  # Azure OpenAI: <resource>.openai.azure.com
    ),
)
