"""The generic OpenAI-compatible server: the fallback ("unknown") when no engine is recognised."""

from __future__ import annotations

from tokenbench.engines.profile import (
    Answers,
    Detection,
    EngineProfile,
    Probe,
    json_object,
    version_text,
)

NAME = "unknown"
VERSION = Probe("/version")


def version(answers: Answers) -> Detection | None:
    """Whatever version string a generic `/version` gave, in full. Not an engine's marker: it
    only labels a server no profile recognised."""
    body = json_object(answers.get(VERSION))
    if body is None or body.get("version") is None:
        return None
    return Detection(version_text(body["version"]))


# Its tokenizers are left empty: the registry tries every known engine's /tokenize shape on an
# unknown server, since it may be any of them.
PROFILE = EngineProfile(name=NAME, probes=(VERSION,), recognise=version)
