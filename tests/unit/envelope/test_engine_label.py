"""How an engine is named on screen and in the report: versions in full, never cut, and a build
string that says nothing ("b0-unknown") never shown as a version (issue 15, problem 8)."""

from __future__ import annotations

from tokenbench.envelope.schema import EngineInfo


def _engine(**fields: object) -> EngineInfo:
    base: dict[str, object] = {"name": "llama.cpp", "version": None, "detected": True,
                               "embedded": False}  # fmt: skip
    return EngineInfo.model_validate({**base, **fields})


def test_embedded_source_build_shows_the_package_version_only() -> None:
    engine = _engine(version="11434.0.0", build="b0-unknown", embedded=True,
                     package_version="11434.0.0")  # fmt: skip
    assert engine.detail == "llama.cpp 11434.0.0"
    assert engine.label == "llama.cpp 11434.0.0"


def test_a_known_build_is_shown_beside_the_version() -> None:
    engine = _engine(version="11434.0.0", build="b7642-3f4a1c2d")
    assert engine.detail == "llama.cpp 11434.0.0 (build b7642-3f4a1c2d)"


def test_no_version_reads_unknown_once() -> None:
    assert _engine(build="b0-unknown").detail == "llama.cpp unknown"


def test_an_unknown_server_keeps_its_version_string_in_full() -> None:
    long = "2025.11.3-beta+x.very.long.build.metadata.g4a2d8e1f"
    engine = _engine(name="unknown", version=long, detected=False)
    assert engine.detail == f"unknown {long}"
    assert engine.label == f"unknown {long}"
