"""A minimal HTTP/1.1 client on asyncio protocols, built for timing accuracy.

Arrival times are taken in `data_received`, the first Python code the event loop runs for a socket
read, and the hot path only de-frames and appends; parsing happens once the response is complete.
Published load generators timestamp after several layers of async iterators, which is where their
TTFT error at high stream counts comes from.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast
from urllib.parse import urlsplit, urlunsplit

import orjson

from tokenbench.errors import ConfigError

_MAX_HEADER_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where the server is. Built from a base URL with credentials and query removed."""

    scheme: str
    host: str
    port: int
    base_path: str  # e.g. "/v1", without trailing slash
    # Sent with API requests, never shown: a query (Azure's api-version, or a key) and URL
    # userinfo are secrets as far as tokenbench knows.
    query: str = field(default="", repr=False)
    userinfo_key: str | None = field(default=None, repr=False)

    @classmethod
    def parse(cls, base_url: str) -> Endpoint:
        parts = urlsplit(base_url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(
                f"base URL {redact_url(base_url)!r} is not an http(s) URL; "
                "pass e.g. --base-url http://127.0.0.1:8000/v1"
            )
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as exc:
            raise ConfigError(f"base URL {redact_url(base_url)!r} has a bad port: {exc}") from None
        key = parts.password or parts.username or None
        return cls(parts.scheme, parts.hostname, port, parts.path.rstrip("/"), parts.query, key)

    def api_path(self, path: str) -> str:
        """`/v1/chat/completions`, with the base URL's query if it had one."""
        full = self.base_path + path
        return f"{full}?{self.query}" if self.query else full

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}{self.base_path}"


_METADATA_HOSTS = frozenset(
    {"metadata", "metadata.google.internal", "instance-data", "metadata.azure.com"}
)


def check_url_from_file(url: str, allow_private: bool) -> None:
    """A base URL read from a file (a re-run config) must not point a request carrying the API
    key at link-local, cloud-metadata or private addresses unless the user says so. Loopback
    stays allowed (local engines). Host names are checked by name: nothing is resolved."""
    if allow_private:
        return
    host = (urlsplit(url.strip()).hostname or "").lower()
    why = None
    if host in _METADATA_HOSTS:
        why = "a cloud metadata host"
    else:
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            ip = None
        if ip is not None and not ip.is_loopback:
            if ip.is_link_local:
                why = "a link-local address (cloud metadata lives there)"
            elif ip.is_private or ip.is_reserved or ip.is_multicast or ip.is_unspecified:
                why = "a private or reserved address"
    if why:
        raise ConfigError(
            f"refusing base URL {redact_url(url)!r} from a file: it points at {why}; "
            "pass --allow-private if you mean it"
        )


def redact_url(url: str) -> str:
    """The URL without user:password, query string or fragment: safe to print or store."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        netloc = host + (f":{parts.port}" if parts.port else "")
    except ValueError:
        return "<unparseable URL>"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


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


@dataclass(slots=True)
class Response:
    """A finished (or failed) exchange. `pieces` are (arrival_ns, body bytes) as they came in."""

    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    pieces: list[tuple[int, bytes]] = field(default_factory=list)
    end_ns: int | None = None
    complete: bool = False  # the body ended as framed (not cut off)
    # Takes the body pieces of a 200 response instead of `pieces` (streaming).
    consumer: Callable[[int, bytes], None] | None = None

    def take(self, now: int, data: bytes) -> None:
        if self.consumer is not None and self.status == 200:
            self.consumer(now, data)
        else:
            self.pieces.append((now, data))

    @property
    def body(self) -> bytes:
        return b"".join(p for _, p in self.pieces)

    def json(self) -> object:
        return orjson.loads(self.body)


class _Connection(asyncio.Protocol):
    """One keep-alive connection; carries one exchange at a time."""

    __slots__ = (
        "_buf",
        "_chunk_left",
        "_done",
        "_mode",
        "_reads",
        "_remaining",
        "_resp",
        "_state",
        "closed",
        "last_ns",
        "transport",
    )

    def __init__(self, reads: ReadQueue) -> None:
        self._reads = reads
        self.last_ns = 0  # arrival of the latest read (idle-timeout bookkeeping)
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._resp: Response | None = None
        self._done: asyncio.Future[Response] | None = None
        self._buf = b""
        self._state = 0  # 0 headers, 1 body, 2 done
        self._mode = ""  # "chunked", "length", "close"
        self._remaining = 0
        self._chunk_left = -1  # -1: expecting a size line; -2: expecting CRLF after data

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
        resp, done = self._resp, self._done
        if resp is None or done is None or done.done():
            return
        resp.end_ns = time.perf_counter_ns()
        if self._state == 1 and self._mode == "close":
            resp.complete = True
        done.set_result(resp)

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter_ns()
        self.last_ns = now
        self._reads.push(self, now, data)

    def process(self, now: int, data: bytes) -> None:
        """A read stamped `now`: headers, de-framing, hand-over to the consumer."""
        if self._resp is None or self._state == 2:
            return  # bytes with no exchange pending: ignore (server misbehaving)
        if self._state == 0:
            self._buf += data
            end = self._buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buf) > _MAX_HEADER_BYTES:
                    self._fail_framing()
                return
            head, data = self._buf[:end], self._buf[end + 4 :]
            self._buf = b""
            if not self._parse_head(head):
                return
            self._state = 1
            if self._mode == "length" and self._remaining == 0:
                self._finish(now)
                return
            if not data:
                return
        if self._state == 1:
            self._feed(now, data)

    # -- framing ----------------------------------------------------------
    def _parse_head(self, head: bytes) -> bool:
        resp = self._resp
        assert resp is not None
        lines = head.split(b"\r\n")
        try:
            resp.status = int(lines[0].split(b" ", 2)[1])
        except (IndexError, ValueError):
            self._fail_framing()
            return False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            resp.headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
        if "chunked" in resp.headers.get("transfer-encoding", "").lower():
            self._mode = "chunked"
            self._chunk_left = -1
        elif "content-length" in resp.headers:
            self._mode = "length"
            self._remaining = int(resp.headers["content-length"])
        else:
            self._mode = "close"
        return True

    def _feed(self, now: int, data: bytes) -> None:
        resp = self._resp
        assert resp is not None
        if self._mode == "length":
            resp.take(now, data)
            self._remaining -= len(data)
            if self._remaining <= 0:
                self._finish(now)
        elif self._mode == "close":
            resp.take(now, data)
        else:
            self._feed_chunked(now, data)

    def _feed_chunked(self, now: int, data: bytes) -> None:
        resp = self._resp
        assert resp is not None
        buf = self._buf + data if self._buf else data
        self._buf = b""
        pos = 0
        n = len(buf)
        out: list[bytes] = []
        while pos < n:
            left = self._chunk_left
            if left == -1:
                eol = buf.find(b"\r\n", pos)
                if eol < 0:
                    self._buf = buf[pos:]
                    break
                try:
                    size = int(buf[pos:eol].split(b";", 1)[0], 16)
                except ValueError:
                    self._fail_framing()
                    return
                pos = eol + 2
                if size == 0:
                    # Last chunk; trailers (rare) are ignored.
                    if out:
                        resp.take(now, b"".join(out))
                    self._finish(now)
                    return
                self._chunk_left = size
            elif left == -2:
                if n - pos < 2:
                    self._buf = buf[pos:]
                    break
                pos += 2
                self._chunk_left = -1
            else:
                take = min(left, n - pos)
                out.append(buf[pos : pos + take])
                pos += take
                left -= take
                self._chunk_left = left if left else -2
        if out:
            resp.take(now, b"".join(out) if len(out) > 1 else out[0])

    def _finish(self, now: int) -> None:
        resp, done = self._resp, self._done
        assert resp is not None
        assert done is not None
        resp.end_ns = now
        resp.complete = True
        self._state = 2
        if resp.headers.get("connection", "").lower() == "close" and self.transport:
            self.transport.close()
        if not done.done():
            done.set_result(resp)

    def _fail_framing(self) -> None:
        if self.transport:
            self.transport.close()  # connection_lost resolves the exchange as incomplete

    # -- use --------------------------------------------------------------
    def start(
        self,
        request: bytes,
        loop: asyncio.AbstractEventLoop,
        consumer: Callable[[int, bytes], None] | None = None,
    ) -> tuple[int, asyncio.Future[Response]]:
        """Send a request; returns the send time and a future for the response."""
        self._resp = Response(consumer=consumer)
        self._done = loop.create_future()
        self._buf = b""
        self._state = 0
        self._mode = ""
        assert self.transport is not None
        send_ns = time.perf_counter_ns()
        self.transport.write(request)
        return send_ns, self._done

    def reusable(self) -> bool:
        t = self.transport
        return not self.closed and self._state == 2 and t is not None and not t.is_closing()

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

    async def response(self, idle_timeout_s: float | None = None) -> Response:
        """The finished response. With `idle_timeout_s`, raises IdleTimeout when no byte has
        arrived for that long (checked once per idle period: no per-read cost)."""
        try:
            if idle_timeout_s is None:
                return await self._future
            idle_ns = int(idle_timeout_s * 1e9)
            while True:
                last = max(self.send_ns, self._conn.last_ns)
                wait_s = max(0.001, (last + idle_ns - time.perf_counter_ns()) / 1e9)
                done, _ = await asyncio.wait({self._future}, timeout=wait_s)
                if done:
                    return self._future.result()
                if time.perf_counter_ns() - max(self.send_ns, self._conn.last_ns) >= idle_ns:
                    raise IdleTimeout(idle_timeout_s)
        except BaseException:
            self._conn.close()  # cancelled or timed out: the connection is in an unknown state
            raise


class HttpClient:
    """One per run. Holds the endpoint, the secret headers, and keep-alive connections by slot."""

    def __init__(
        self,
        endpoint: Endpoint,
        api_key: str | None = None,
        connect_timeout_s: float = 10.0,
    ) -> None:
        self.endpoint = endpoint
        self._api_key = api_key or endpoint.userinfo_key
        self._secrets = [s for s in (self._api_key, endpoint.query) if s and len(s) >= 4]
        self._secrets += [v for _, _, v in (p.partition("=") for p in endpoint.query.split("&"))
                          if len(v) >= 4]  # fmt: skip
        self._connect_timeout_s = connect_timeout_s
        self._conns: dict[int, _Connection] = {}
        self._reads = ReadQueue()
        self._ssl: ssl.SSLContext | None = (
            ssl.create_default_context() if endpoint.scheme == "https" else None
        )
        host = endpoint.host if ":" not in endpoint.host else f"[{endpoint.host}]"
        default_port = 443 if endpoint.scheme == "https" else 80
        self._host_header = host if endpoint.port == default_port else f"{host}:{endpoint.port}"

    def __repr__(self) -> str:  # never show the key
        return f"HttpClient({self.endpoint.url!r})"

    def redact(self, text: str) -> str:
        """Remove the API key and query secrets from text a server sent back (some echo them)."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    async def _connection(self, slot: int) -> _Connection:
        conn = self._conns.get(slot)
        if conn is not None and conn.reusable():
            return conn
        if conn is not None:
            conn.close()
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._connect_timeout_s):
                _, proto = await loop.create_connection(
                    lambda: _Connection(self._reads),
                    self.endpoint.host,
                    self.endpoint.port,
                    ssl=self._ssl,
                    server_hostname=self.endpoint.host if self._ssl else None,
                )
        except TimeoutError:
            raise ConnectFailed(
                f"connecting to {self.endpoint.url} timed out after {self._connect_timeout_s:g} s"
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
            "User-Agent: tokenbench",
            "Accept: text/event-stream" if stream else "Accept: application/json",
        ]
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
    ) -> Exchange:
        """Open (or reuse) the slot's connection and send. Raises ConnectFailed."""
        existing = self._conns.get(slot)
        conn = await self._connection(slot)
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
        idle_timeout_s: float | None = None,
    ) -> Response:
        """Send and wait for the whole response. `on_send` gets the send time as soon as the
        bytes are written, so a request that then times out still has it.

        A request on a reused keep-alive connection that gets no response byte at all was sent
        to a connection the server had already closed (llama-server closes idle ones after 5 s);
        it is sent once more on a fresh connection, as HTTP clients do.
        """
        for attempt in range(2):
            ex = await self.start(method, path, body, slot, stream, consumer)
            if on_send is not None:
                on_send(ex.send_ns)
            response = await ex.response(idle_timeout_s)
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
