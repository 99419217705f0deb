"""Ollama: detected by /api/version, a route of Ollama's own API (not the OpenAI-compatible one)."""

from __future__ import annotations

from tokenbench.engines.profile import Answers, Detection, EngineProfile, Probe, json_object

API_VERSION = Probe("/api/version")


def recognise(answers: Answers) -> Detection | None:
    """/api/version answers `{"version": "0.5.7"}`: a string version under Ollama's /api."""
    body = json_object(answers.get(API_VERSION))
    if body is None or not isinstance(body.get("version"), str):
        return None
    return Detection(body["version"].strip() or None)


# Ollama ignores `ignore_eos`, has no /tokenize and no Prometheus endpoint.
PROFILE = EngineProfile(name="ollama", probes=(API_VERSION,), recognise=recognise)
