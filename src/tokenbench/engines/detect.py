"""Engine detection: ask each engine profile's probes, and name the engine whose own marker
answers; a server no profile recognises is "unknown", with whatever version it gave."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tokenbench.engines.http import ConnectFailed, HttpClient
from tokenbench.engines.profile import Answers, Detection, EngineProfile, Probe
from tokenbench.engines.profiles import GENERIC, PROFILES, detectable, hosted_by
from tokenbench.errors import EngineError

PROBE_TIMEOUT_S = 5.0  # the longest any probe waits (a shorter --timeout bounds it further)


@dataclass(frozen=True, slots=True)
class EngineIdentity:
    name: str  # a profile's name ("vllm", "llama.cpp", "hosted", ...), "unknown", or as named
    version: str | None  # as the engine reported it, in full
    detected: bool  # False when the user named the engine and no probe confirmed it
    props: dict[str, Any] | None = None  # llama.cpp /props (slots, model path, template)


class _Prober:
    """GETs each probe once per detection, however many profiles ask for it."""

    def __init__(self, client: HttpClient, timeout_s: float = PROBE_TIMEOUT_S) -> None:
        self.client = client
        self.timeout_s = timeout_s
        self.answers: dict[Probe, bytes] = {}
        self._asked: set[Probe] = set()
        self._heard = False  # the server has answered something, whatever its status

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
            resp = await self.client.request("GET", path, timeout_s=self.timeout_s, slot=-1)
        except ConnectFailed:
            raise
        except TimeoutError:
            if not self._heard:  # asking the other engines' paths would only wait as long again
                raise EngineError(silent(self.client.endpoint.url, path, self.timeout_s)) from None
            return None
        except OSError:
            return None
        self._heard = True
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


def silent(url: str, path: str, timeout_s: float) -> str:
    """The one-line error for a server that accepts connections and never answers."""
    return (
        f"{url} accepted the connection but sent no answer to GET {path} within {timeout_s:g} s "
        "(--timeout); is the server stuck, or still starting?"
    )


def _identity(profile: EngineProfile, found: Detection, detected: bool) -> EngineIdentity:
    props = dict(found.props) if found.props is not None else None
    return EngineIdentity(profile.name, found.version, detected, props)


async def detect(
    client: HttpClient, named: str | None = None, timeout_s: float = PROBE_TIMEOUT_S
) -> EngineIdentity:
    """Identify the engine behind `client`. Raises EngineError if the server is unreachable, or
    answers none of the probes within `timeout_s` (each probe's limit).

    With `named`, only that engine's probes run (for its version); the name is kept either way.
    """
    prober = _Prober(client, timeout_s)
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
    path = client.endpoint.api_path("/models")
    try:
        await client.request("GET", path, timeout_s=prober.timeout_s, slot=-1)
    except TimeoutError:
        raise EngineError(silent(client.endpoint.url, path, prober.timeout_s)) from None
    return EngineIdentity(named, None, False)
