"""Server-sent events: split a timed byte stream into events, each stamped with its arrival."""

from __future__ import annotations

from collections.abc import Iterator


def iter_events(pieces: list[tuple[int, bytes]]) -> Iterator[tuple[int, str | None, bytes]]:
    """Yield (arrival_ns, event name, data) for each complete event.

    An event's arrival is that of the read that completed it. Data lines are joined with "\\n";
    comment lines (":") and unknown fields are skipped. A trailing event without its blank line
    (a stream cut off) is not yielded.
    """
    buf = b""
    for t, piece in pieces:
        buf = buf + piece if buf else piece
        if b"\r" in buf:
            buf = buf.replace(b"\r\n", b"\n")
        while True:
            cut = buf.find(b"\n\n")
            if cut < 0:
                break
            block, buf = buf[:cut], buf[cut + 2 :]
            event: str | None = None
            data: list[bytes] = []
            for line in block.split(b"\n"):
                if line.startswith(b"data:"):
                    value = line[5:]
                    data.append(value[1:] if value.startswith(b" ") else value)
                elif line.startswith(b"event:"):
                    event = line[6:].strip().decode("utf-8", "replace")
            if data or event:
                yield t, event, b"\n".join(data)
