"""The client's parts that need no server: the Timeouts value, and a connection stamping reads
and handing them to its decoder after the stamping pass."""

from __future__ import annotations

import asyncio
import pickle

import pytest

from tokenbench.engines.http import HttpClient, ReadQueue, Timeouts, _Connection
from tokenbench.errors import ConfigError
from tokenbench.urls import Endpoint


def test_timeouts_defaults_validation_and_pickling() -> None:
    t = Timeouts(60.0, idle_s=5.0)
    assert (t.request_s, t.connect_s, t.idle_s) == (60.0, 10.0, 5.0)
    assert pickle.loads(pickle.dumps(t)) == t  # travels to worker processes in a WorkerJob
    for bad in ({"request_s": 0.0}, {"connect_s": -1.0}, {"idle_s": 0.0}):
        with pytest.raises(ConfigError, match="must be positive"):
            Timeouts(**bad)


class _FakeTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written = b""
        self.closing = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += bytes(data)

    def close(self) -> None:
        self.closing = True

    def is_closing(self) -> bool:
        return self.closing

    def get_extra_info(self, name: str, default: object = None) -> object:
        return default


def test_a_connection_stamps_reads_then_decodes_them_together() -> None:
    async def go() -> None:
        conn = _Connection(ReadQueue())
        transport = _FakeTransport()
        conn.connection_made(transport)
        got: list[tuple[int, bytes]] = []
        send_ns, done = conn.start(b"GET / HTTP/1.1\r\n\r\n", asyncio.get_running_loop(),
                                   lambda now, data: got.append((now, data)))  # fmt: skip
        assert transport.written == b"GET / HTTP/1.1\r\n\r\n"
        conn.data_received(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab")
        first = conn.last_ns
        conn.data_received(b"cde")
        assert got == []  # nothing decoded inside the read callbacks
        resp = await done
        assert got == [(first, b"ab"), (conn.last_ns, b"cde")]
        assert send_ns <= first <= conn.last_ns == resp.end_ns
        assert resp.complete
        assert conn.reusable()
        # Bad framing on the next exchange closes the connection; the close resolves it.
        _, done = conn.start(b"GET / HTTP/1.1\r\n\r\n", asyncio.get_running_loop())
        conn.data_received(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
        await asyncio.sleep(0)
        assert transport.closing
        conn.connection_lost(None)
        resp = await done
        assert not resp.complete
        assert not conn.reusable()

    asyncio.run(go())


def test_client_repr_and_redaction_never_show_the_key() -> None:
    client = HttpClient(Endpoint.parse("http://h/v1?key=q-secret"), api_key="sk-12345")
    assert "sk-12345" not in repr(client)
    assert client.redact("bad key sk-12345 (q-secret)") == "bad key *** (***)"
    assert client.timeouts == Timeouts()
