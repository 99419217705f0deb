"""The HTTP/1.1 client, on asyncio protocols, built for timing accuracy: keep-alive connections
by slot, requests sent and responses awaited with one set of `Timeouts`.

Arrival times are taken in `data_received`, the first Python code the event loop runs for a socket
read, and the hot path only de-frames (`http1.ResponseDecoder`) and hands bodies on. Published
load generators timestamp after several layers of async iterators, which is where their TTFT error
at high stream counts comes from.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import cast

import orjson

from tokenbench.engines.http1 import COMPLETE, NEED_MORE, Response, ResponseDecoder
from tokenbench.engines.passthrough import check_header, looks_secret
from tokenbench.errors import ConfigError
from tokenbench.urls import Endpoint, endpoint_secrets, redact_secrets


@dataclass(frozen=True, slots=True)
class Timeouts:
    """How long a request may take: to open its connection, in all (retries and waits for
    Retry-After included), and with no byte arriving (a stalled stream; None: no limit)."""

    request_s: float = 300.0
    connect_s: float = 10.0
    idle_s: float | None = None

    def __post_init__(self) -> None:
        for name in ("request_s", "connect_s", "idle_s"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ConfigError(f"timeout {name} must be positive, not {value!r}")


class ReadQueue:
    """Socket reads, stamped on arrival and processed once every socket that became readable in
    the same loop iteration has been stamped (one `call_soon` per iteration, shared by all of a
    client's connections). The read callback does nothing else, so a burst of arrivals is
    stamped back to back; headers, de-framing and event parsing come after."""

    __slots__ = ("_items", "_scheduled")

    def __init__(self) -> None:
        self._items: list[tuple[_Connection, int, bytes]] = []
        self._scheduled = False

    def push(self, conn: _Connection, now: int, data: bytes) -> None:
        self._items.append((conn, now, data))
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self.run)

    def run(self) -> None:
        while self._items:
            items, self._items = self._items, []
            for conn, now, data in items:
                conn.process(now, data)
        self._scheduled = False


class _Connection(asyncio.Protocol):
    """One keep-alive connection; carries one exchange at a time. Stamps arrivals and hands the
    bytes to the exchange's decoder."""

    __slots__ = ("_decoder", "_done", "_reads", "_resp", "closed", "last_ns", "transport")

    def __init__(self, reads: ReadQueue) -> None:
        self._reads = reads
        self.last_ns = 0  # arrival of the latest read (idle-timeout bookkeeping)
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._resp: Response | None = None
        self._done: asyncio.Future[Response] | None = None
        self._decoder: ResponseDecoder | None = None  # None: no exchange in progress

    # -- asyncio.Protocol -------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement the interface without subclassing asyncio.Transport.
        self.transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def connection_lost(self, exc: Exception | None) -> None:
        self._reads.run()  # bytes that arrived before the close come first
        self.closed = True
        resp, done, decoder = self._resp, self._done, self._decoder
        if resp is None or done is None or done.done():
            return
        end_ns = time.perf_counter_ns()
        if decoder is not None:
            self._decoder = None
            decoder.eof(end_ns)  # completes a body delimited by the close
        resp.end_ns = end_ns
        done.set_result(resp)

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter_ns()
        self.last_ns = now
        self._reads.push(self, now, data)

    def process(self, now: int, data: bytes) -> None:
        """A read stamped `now`: decoded, its body bytes handed to the consumer."""
        decoder = self._decoder
        if decoder is None:
            return  # bytes with no exchange pending: ignore (server misbehaving)
        outcome = decoder.feed(now, data)
        if outcome == NEED_MORE:
            return
        self._decoder = None
        if outcome == COMPLETE:
            self._finish()
        elif self.transport:
            self.transport.close()  # bad framing: connection_lost resolves it as incomplete

    def _finish(self) -> None:
        resp, done = self._resp, self._done
        assert resp is not None
        assert done is not None
        if resp.headers.get("connection", "").lower() == "close" and self.transport:
            self.transport.close()
        if not done.done():
            done.set_result(resp)

    # -- use --------------------------------------------------------------
    def start(
        self,
        request: bytes,
        loop: asyncio.AbstractEventLoop,
        consumer: Callable[[int, bytes], None] | None = None,
    ) -> tuple[int, asyncio.Future[Response]]:
        """Send a request; returns the send time and a future for the response."""
        self._resp = Response(consumer=consumer)
        self._decoder = ResponseDecoder(self._resp)
        self._done = loop.create_future()
        assert self.transport is not None
        send_ns = time.perf_counter_ns()
        self.transport.write(request)
        return send_ns, self._done

    def reusable(self) -> bool:
        """The last response ended as framed and the connection is still open."""
        t = self.transport
        ended = self._decoder is None and self._resp is not None and self._resp.complete
        return ended and not self.closed and t is not None and not t.is_closing()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class IdleTimeout(TimeoutError):
    """No byte arrived for the idle timeout (a stalled stream)."""

    def __init__(self, idle_s: float) -> None:
        super().__init__(f"no data for {idle_s:g} s (idle timeout)")


class ConnectFailed(Exception):
    """The TCP/TLS connection could not be opened (message is safe to show)."""


class Exchange:
    """A request in flight: `send_ns` is when its bytes went to the socket."""

    __slots__ = ("_conn", "_future", "reused", "send_ns")

    def __init__(
        self, conn: _Connection, send_ns: int, future: asyncio.Future[Response], reused: bool
    ) -> None:
        self._conn = conn
        self.send_ns = send_ns
        self._future = future
        self.reused = reused  # sent on a keep-alive connection opened for an earlier request

    async def response(self, idle_s: float | None = None) -> Response:
        """The finished response. With `idle_s`, raises IdleTimeout when no byte has arrived
        for that long (checked once per idle period: no per-read cost)."""
        try:
            if idle_s is None:
                return await self._future
            idle_ns = int(idle_s * 1e9)
            while True:
                last = max(self.send_ns, self._conn.last_ns)
                wait_s = max(0.001, (last + idle_ns - time.perf_counter_ns()) / 1e9)
                done, _ = await asyncio.wait({self._future}, timeout=wait_s)
                if done:
                    return self._future.result()
                if time.perf_counter_ns() - max(self.send_ns, self._conn.last_ns) >= idle_ns:
                    raise IdleTimeout(idle_s)
        except BaseException:
            self._conn.close()  # cancelled or timed out: the connection is in an unknown state
            raise


class HttpClient:
    """One per run. Holds the endpoint, the secret headers, and keep-alive connections by slot.
    `timeouts` applies to exchanges that bring none of their own."""

    def __init__(
        self,
        endpoint: Endpoint,
        api_key: str | None = None,
        timeouts: Timeouts = Timeouts(),
        extra_headers: Sequence[tuple[str, str]] = (),
    ) -> None:
        self.endpoint = endpoint
        self.timeouts = timeouts
        self._api_key = api_key or endpoint.userinfo_key
        for name, value in extra_headers:
            check_header(name, value)  # a library caller gets the CLI's checks
        # --header values that look like credentials are secrets too (a server may echo one)
        credentials = tuple(v for n, v in extra_headers if v and looks_secret(n, v))
        self._secrets = endpoint_secrets(endpoint, self._api_key) + credentials
        self._extra_lines = [f"{n}: {v}" for n, v in extra_headers]
        self._user_agent = not any(n.lower() == "user-agent" for n, _ in extra_headers)
        self._conns: dict[int, _Connection] = {}
        self._reads = ReadQueue()
        self._ssl: ssl.SSLContext | None = (
            ssl.create_default_context() if endpoint.scheme == "https" else None
        )
        host = endpoint.host if ":" not in endpoint.host else f"[{endpoint.host}]"
        default = endpoint.port == endpoint.default_port
        self._host_header = host if default else f"{host}:{endpoint.port}"

    def __repr__(self) -> str:  # never show the key
        return f"HttpClient({self.endpoint.url!r})"

    def redact(self, text: str) -> str:
        """Remove the API key and query secrets from text a server sent back (some echo them)."""
        return redact_secrets(text, self._secrets)

    async def _connection(self, slot: int, connect_s: float) -> _Connection:
        conn = self._conns.get(slot)
        if conn is not None and conn.reusable():
            return conn
        if conn is not None:
            conn.close()
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(connect_s):
                _, proto = await loop.create_connection(
                    lambda: _Connection(self._reads),
                    self.endpoint.host,
                    self.endpoint.port,
                    ssl=self._ssl,
                    server_hostname=self.endpoint.host if self._ssl else None,
                )
        except TimeoutError:
            raise ConnectFailed(
                f"connecting to {self.endpoint.url} timed out after {connect_s:g} s"
            ) from None
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise ConnectFailed(f"cannot connect to {self.endpoint.url}: {reason}") from None
        self._conns[slot] = proto
        return proto

    def _request_bytes(self, method: str, path: str, body: bytes | None, stream: bool) -> bytes:
        lines = [
            f"{method} {path} HTTP/1.1",
            f"Host: {self._host_header}",
            "Accept: text/event-stream" if stream else "Accept: application/json",
        ]
        if self._user_agent:  # unless --header User-Agent replaces it
            lines.append("User-Agent: tokenbench")
        lines += self._extra_lines
        if self._api_key:
            lines.append(f"Authorization: Bearer {self._api_key}")
        if body is not None:
            lines.append("Content-Type: application/json")
            lines.append(f"Content-Length: {len(body)}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        return head + body if body is not None else head

    async def start(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        slot: int = 0,
        stream: bool = False,
        consumer: Callable[[int, bytes], None] | None = None,
        timeouts: Timeouts | None = None,
    ) -> Exchange:
        """Open (or reuse) the slot's connection and send. Raises ConnectFailed."""
        existing = self._conns.get(slot)
        conn = await self._connection(slot, (timeouts or self.timeouts).connect_s)
        send_ns, fut = conn.start(
            self._request_bytes(method, path, body, stream),
            asyncio.get_running_loop(),
            consumer,
        )
        return Exchange(conn, send_ns, fut, reused=conn is existing)

    async def exchange(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        slot: int = 0,
        stream: bool = False,
        on_send: Callable[[int], None] | None = None,
        consumer: Callable[[int, bytes], None] | None = None,
        timeouts: Timeouts | None = None,
    ) -> Response:
        """Send and wait for the whole response. `on_send` gets the send time as soon as the
        bytes are written, so a request that then times out still has it. Of `timeouts`, the
        connect and idle limits apply here; the caller bounds the whole (`request_s`).

        A request on a reused keep-alive connection that gets no response byte at all was sent
        to a connection the server had already closed (llama-server closes idle ones after 5 s);
        it is sent once more on a fresh connection, as HTTP clients do.
        """
        timeouts = timeouts or self.timeouts
        for attempt in range(2):
            ex = await self.start(method, path, body, slot, stream, consumer, timeouts)
            if on_send is not None:
                on_send(ex.send_ns)
            response = await ex.response(timeouts.idle_s)
            if attempt or not (ex.reused and response.status == 0 and not response.pieces):
                break
        return response

    async def request(
        self,
        method: str,
        path: str,
        payload: object | None = None,
        timeout_s: float = 30.0,
        slot: int = -1,
    ) -> Response:
        """A plain request/response (probes, tokenize). Slot -1 keeps it off the load slots."""
        body = orjson.dumps(payload) if payload is not None else None
        async with asyncio.timeout(timeout_s):
            return await self.exchange(method, path, body, slot=slot)

    async def aclose(self) -> None:
        for conn in self._conns.values():
            conn.close()
        self._conns.clear()
        await asyncio.sleep(0)  # let transports run their close callbacks
