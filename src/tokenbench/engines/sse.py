"""Server-sent events: an incremental decoder that turns body pieces into (event, data) pairs."""

from __future__ import annotations

from collections.abc import Iterator


class SseDecoder:
    """Feed body pieces as they arrive; get back each event they complete.

    Data lines are joined with "\\n"; comments (":") and unknown fields are skipped; an event
    still missing its blank line stays buffered (a stream cut off there never yields it).
    """

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = b""

    def feed(self, piece: bytes) -> list[tuple[str | None, bytes]]:
        buf = self._buf + piece if self._buf else piece
        if b"\r" in buf:
            buf = buf.replace(b"\r\n", b"\n")
        out: list[tuple[str | None, bytes]] = []
        start = 0
        while True:
            cut = buf.find(b"\n\n", start)
            if cut < 0:
                break
            block = buf[start:cut]
            start = cut + 2
            if block.startswith(b"data: ") and b"\n" not in block:
                out.append((None, block[6:]))  # the common case: one data line
                continue
            event: str | None = None
            data: list[bytes] = []
            for line in block.split(b"\n"):
                if line.startswith(b"data:"):
                    value = line[5:]
                    data.append(value[1:] if value.startswith(b" ") else value)
                elif line.startswith(b"event:"):
                    event = line[6:].strip().decode("utf-8", "replace")
            if data or event:
                out.append((event, b"\n".join(data)))
        self._buf = buf[start:]
        return out


def iter_events(pieces: list[tuple[int, bytes]]) -> Iterator[tuple[int, str | None, bytes]]:
    """(arrival_ns, event, data) for each complete event of a recorded piece list; an event's
    arrival is that of the piece that completed it."""
    decoder = SseDecoder()
    for t, piece in pieces:
        for event, data in decoder.feed(piece):
            yield t, event, data
