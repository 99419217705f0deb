"""A bench session: what `bench run` and `bench eval` hold while they measure one target — the
opened target, the signing key, the energy meter and the host's fingerprint."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass

from tokenbench.energy.meter import Meter, NoMeter, open_meter
from tokenbench.engines.models import ResolvedModel
from tokenbench.envelope import keys
from tokenbench.envelope.hardware import fingerprint
from tokenbench.envelope.schema import HardwareInfo
from tokenbench.session.host_load import engine_pids
from tokenbench.session.target import OpenTarget, TargetSpec, open_target

CTX_MARGIN = 64  # tokens of slack per server slot beyond the longest prompt and its answer


def ctx_per_slot(longest_input: int, output_tokens: int, model: ResolvedModel) -> int:
    """Context each embedded-server slot needs: the longest prompt, its answer and a margin; at
    most the model's trained context."""
    need = longest_input + output_tokens + CTX_MARGIN
    context = model.gguf.context_length
    return min(need, context) if context else need


@dataclass(frozen=True, slots=True)
class BenchSession:
    target: OpenTarget
    signer: keys.Signer
    meter: Meter
    idle_watts: float | None  # mean power before the run, nothing running (None: no meter)
    hardware: HardwareInfo
    engine_pids: frozenset[int] = frozenset()  # a local engine under test: not other work


async def open_session(
    stack: contextlib.AsyncExitStack,
    spec: TargetSpec,
    *,
    sign: bool,
    note: Callable[[str], None],
    phase: Callable[[str], None],
    parallel: int,
    slot_context: Callable[[ResolvedModel], int],
    meter: Meter | None = None,
    energy: bool = True,
) -> BenchSession:
    """Open the target (starting the embedded server when there is no URL) and everything a
    measurement records beside it. `meter` replaces the automatic choice (tests inject one);
    `energy=False` reads none (evals)."""
    signer = keys.Signer(sign, note)  # an unreadable key fails here, before any server starts
    target = await open_target(
        stack, spec, parallel=parallel, ctx_per_slot=slot_context, phase=phase
    )
    if meter is None:
        meter = (
            _local_meter(target.client.endpoint.host, embedded=target.server is not None)
            if energy
            else NoMeter("no energy is read for this measurement")
        )
    idle_watts = await asyncio.to_thread(meter.idle_watts, 1.0)
    hardware = await asyncio.to_thread(fingerprint)
    endpoint = target.client.endpoint
    engine = await asyncio.to_thread(engine_pids, endpoint.host, endpoint.port)
    return BenchSession(target, signer, meter, idle_watts, hardware, engine)


def _is_local(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _local_meter(host: str, embedded: bool) -> Meter:
    """NVML counters measure this machine's GPUs: meaningful only for an engine running here."""
    if not (embedded or _is_local(host)):
        return NoMeter("the engine runs on another host; energy is read only for a local engine")
    return open_meter()
