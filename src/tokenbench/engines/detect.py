"""Engine detection: ask each engine profile's probes, and name the engine whose own marker
answers; a server no profile recognises is "unknown", with whatever version it gave."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tokenbench.engines.http import ConnectFailed, HttpClient
from tokenbench.engines.profile import Answers, Detection, EngineProfile, Probe
from tokenbench.engines.profiles import GENERIC, PROFILES, detectable, hosted_by
from tokenbench.errors import EngineError

_PROBE_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class EngineIdentity:
    name: str  # a profile's name ("vllm", "llama.cpp", "hosted", ...), "unknown", or as named
    version: str | None  # as the engine reported it, in full
    detected: bool  # False when the user named the engine and no probe confirmed it
    props: dict[str, Any] | None = None  # llama.cpp /props (slots, model path, template)


class _Prober:
    """GETs each probe once per detection, however many profiles ask for it."""

    def __init__(self, client: HttpClient) -> None:
        self.client = client
        self.answers: dict[Probe, bytes] = {}
        self._asked: set[Probe] = set()

    async def get(self, probe: Probe) -> bytes | None:
        if probe not in self._asked:
            self._asked.add(probe)
            body = await self._fetch(probe)
            if body is not None:
                self.answers[probe] = body
        return self.answers.get(probe)

    async def _fetch(self, probe: Probe) -> bytes | None:
        path = self.client.endpoint.api_path(probe.path) if probe.api else probe.path
        try:
            resp = await self.client.request("GET", path, timeout_s=_PROBE_TIMEOUT_S, slot=-1)
        except ConnectFailed:
            raise
        except (TimeoutError, OSError):
            return None
        return resp.body if resp.status == 200 else None

    async def ask(self, profile: EngineProfile) -> Detection | None:
        """The profile's verdict on this server. Its first probe gates the rest: a server
        that does not answer it is not that engine, so the others are not sent."""
        if not profile.probes or await self.get(profile.probes[0]) is None:
            return None
        for probe in profile.probes[1:]:
            await self.get(probe)
        answers: Answers = self.answers
        return profile.recognise(answers)


def _identity(profile: EngineProfile, found: Detection, detected: bool) -> EngineIdentity:
    props = dict(found.props) if found.props is not None else None
    return EngineIdentity(profile.name, found.version, detected, props)


async def detect(client: HttpClient, named: str | None = None) -> EngineIdentity:
    """Identify the engine behind `client`. Raises EngineError if the server is unreachable.

    With `named`, only that engine's probes run (for its version); the name is kept either way.
    """
    prober = _Prober(client)
    try:
        if named is not None:
            return await _confirm(prober, named)
        by_host = hosted_by(client.endpoint.host)
        if by_host is not None:
            return EngineIdentity(by_host.name, None, True)
        for candidate in detectable():
            found = await prober.ask(candidate)
            if found is not None:
                return _identity(candidate, found, True)
        generic = await prober.ask(GENERIC)
    except ConnectFailed as exc:
        raise EngineError(str(exc)) from None
    return EngineIdentity(GENERIC.name, generic.version if generic else None, False)


async def _confirm(prober: _Prober, named: str) -> EngineIdentity:
    """The user's engine name, with the version its own probes report when they confirm it."""
    if named in PROFILES:
        found = await prober.ask(PROFILES.get(named))
        if found is not None:
            return _identity(PROFILES.get(named), found, True)
    # Still prove the server is there before a run starts.
    client = prober.client
    try:
        await client.request(
            "GET", client.endpoint.api_path("/models"), timeout_s=_PROBE_TIMEOUT_S, slot=-1
        )
    except TimeoutError:
        raise EngineError(
            f"{client.endpoint.url} did not answer within {_PROBE_TIMEOUT_S:g} s"
        ) from None
    return EngineIdentity(named, None, False)
