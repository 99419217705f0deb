from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from tests.conftest import ScriptedServer
from tokenbench.engines.detect import EngineIdentity, detect
from tokenbench.engines.http import HttpClient
from tokenbench.errors import EngineError
from tokenbench.urls import Endpoint


def _detect(url: str, named: str | None = None) -> EngineIdentity:
    async def go() -> EngineIdentity:
        client = HttpClient(Endpoint.parse(url))
        try:
            return await detect(client, named)
        finally:
            await client.aclose()

    return asyncio.run(go())


@pytest.mark.parametrize(
    ("engine", "version"), [("vllm", "0.0.0-scripted"), ("llama.cpp", "b0-scripted")]
)
def test_detects_engine_and_version(
    scripted_server_factory: Callable[..., ScriptedServer], engine: str, version: str
) -> None:
    server = scripted_server_factory("--engine", engine)
    ident = _detect(server.base_url)
    assert (ident.name, ident.version, ident.detected) == (engine, version, True)


def test_unknown_engine(scripted_server_factory: Callable[..., ScriptedServer]) -> None:
    server = scripted_server_factory("--engine", "none")
    ident = _detect(server.base_url)
    assert (ident.name, ident.version, ident.detected) == ("unknown", None, False)


def test_named_engine_is_kept_when_probe_disagrees(
    scripted_server_factory: Callable[..., ScriptedServer],
) -> None:
    server = scripted_server_factory("--engine", "none")
    ident = _detect(server.base_url, named="sglang")
    assert (ident.name, ident.detected) == ("sglang", False)


def test_unreachable_server_names_the_url() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        with pytest.raises(EngineError, match=f"127.0.0.1:{port}"):
            _detect(f"http://127.0.0.1:{port}/v1")
