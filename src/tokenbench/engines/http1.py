"""HTTP/1.1 response decoding, sans-IO: the status line, headers, and the body de-framed
(Content-Length, chunked, or up to the close), from bytes fed with their arrival time."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

import orjson

# What `ResponseDecoder.feed` and `.eof` return.
NEED_MORE: Final = 0
COMPLETE: Final = 1  # the body ended as framed
FAILED: Final = 2  # bad or truncated framing; `error` says what

_MAX_HEAD_BYTES = 64 * 1024
_MAX_SIZE_LINE_BYTES = 4 * 1024  # a chunk-size line with its extensions
_HEX_DIGITS = b"0123456789abcdefABCDEF"

# Decoder states. Plain ints: `feed` compares them once per socket read.
_HEAD, _LENGTH, _CHUNKED, _CLOSE, _DONE, _FAILED = range(6)
# Within a chunked body, `_chunk_left` is the data bytes left of the current chunk, or:
_SIZE_LINE = -1
_DATA_CRLF = -2


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


class ResponseDecoder:
    """Decodes one response into `response`. Each `feed` hands the body bytes it de-framed to
    `response.take` in one piece, stamped with the read's arrival time, and returns NEED_MORE,
    COMPLETE or FAILED. Bytes after the end are not looked at. Trailers are ignored."""

    __slots__ = ("_buf", "_chunk_left", "_remaining", "_state", "error", "feed", "response")

    def __init__(self, response: Response) -> None:
        self.response = response
        self.error: str | None = None
        self._buf = b""  # an unfinished head or chunk-size line
        self._remaining = 0  # Content-Length bytes still to come
        self._chunk_left = _SIZE_LINE
        # `feed(now, data)` is the current state's method, so a read costs no dispatch.
        self.feed: Callable[[int, bytes], int] = self._feed_head
        self._state = _HEAD

    def _enter(self, state: int) -> None:
        self._state = state
        if state == _CHUNKED:
            self.feed = self._feed_chunked
        elif state == _LENGTH:
            self.feed = self._feed_length
        elif state == _CLOSE:
            self.feed = self._feed_close
        elif state == _HEAD:
            self.feed = self._feed_head
        else:
            self.feed = self._after_end

    def eof(self, now: int) -> int:
        """The connection closed: a body delimited by the close is complete; anything else
        still expecting bytes was cut off."""
        if self._state == _CLOSE:
            return self._complete(now)
        if self._state == _DONE:
            return COMPLETE
        if self._state == _FAILED:
            return FAILED
        return self._fail("the connection closed before the response ended")

    # -- head -------------------------------------------------------------
    def _feed_head(self, now: int, data: bytes) -> int:
        buf = self._buf + data if self._buf else data
        while True:
            # Blank lines before a status line are tolerated (a late CRLF of the last chunk).
            buf = buf.lstrip(b"\r\n")
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > _MAX_HEAD_BYTES:
                    return self._fail("response head over 64 KiB")
                self._buf = buf
                return NEED_MORE
            head, buf = buf[:end], buf[end + 4 :]
            if not self._parse_head(head):
                return FAILED
            if not 100 <= self.response.status < 200:
                break
            # An interim response (100 Continue): the final one follows.
            self._enter(_HEAD)
            self.response.headers.clear()
        self._buf = b""
        if self._state == _DONE:
            return self._complete(now)
        return self.feed(now, buf) if buf else NEED_MORE

    def _parse_head(self, head: bytes) -> bool:
        resp = self.response
        lines = head.split(b"\r\n")
        parts = lines[0].split(b" ", 2)
        if not parts[0].startswith(b"HTTP/") or len(parts) < 2 or not parts[1].isdigit():
            self._fail(f"bad status line {lines[0][:80]!r}")
            return False
        resp.status = int(parts[1])
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            resp.headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
        if resp.status in (204, 304):  # never a body
            self._enter(_DONE)
        elif "chunked" in resp.headers.get("transfer-encoding", "").lower():
            self._chunk_left = _SIZE_LINE
            self._enter(_CHUNKED)
        elif "content-length" in resp.headers:
            length = resp.headers["content-length"]
            if not (length.isascii() and length.isdigit()):
                self._fail(f"bad Content-Length {length[:40]!r}")
                return False
            self._remaining = int(length)
            self._enter(_LENGTH if self._remaining else _DONE)
        else:
            self._enter(_CLOSE)
        return True

    # -- body -------------------------------------------------------------
    def _feed_close(self, now: int, data: bytes) -> int:
        self.response.take(now, data)
        return NEED_MORE

    def _after_end(self, now: int, data: bytes) -> int:
        return COMPLETE if self._state == _DONE else FAILED

    def _feed_length(self, now: int, data: bytes) -> int:
        left = self._remaining - len(data)
        if left > 0:
            self._remaining = left
            self.response.take(now, data)
            return NEED_MORE
        self.response.take(now, data[: self._remaining] if left else data)
        self._remaining = 0
        return self._complete(now)

    def _feed_chunked(self, now: int, data: bytes) -> int:
        buf = self._buf + data if self._buf else data
        self._buf = b""
        pos = 0
        n = len(buf)
        out: list[bytes] = []
        outcome = NEED_MORE
        while pos < n:
            left = self._chunk_left
            if left == _SIZE_LINE:
                eol = buf.find(b"\r\n", pos)
                if eol < 0:
                    if n - pos > _MAX_SIZE_LINE_BYTES:
                        outcome = self._fail("chunk-size line over 4 KiB")
                    else:
                        self._buf = buf[pos:]
                    break
                line = buf[pos:eol]
                # Plain hex is the rule; int() alone would also take a sign, "_", "0x" or spaces.
                # Sizes with a leading 0 (the last chunk, "0x…") take the careful path.
                if line.isalnum() and line[0] != 0x30:
                    try:
                        size = int(line, 16)
                    except ValueError:
                        size = -1
                else:
                    size = _chunk_size(line)
                if size <= 0:  # the last chunk (done, trailers or not), or not a size
                    outcome = FAILED if size else COMPLETE
                    if size:
                        self._fail(f"bad chunk-size line {buf[pos:eol][:40]!r}")
                    break
                pos = eol + 2
                self._chunk_left = size
            elif left == _DATA_CRLF:
                if n - pos < 2:
                    self._buf = buf[pos:]
                    break
                if buf[pos] != 0x0D or buf[pos + 1] != 0x0A:  # CR LF
                    outcome = self._fail("chunk data longer than its size")
                    break
                pos += 2
                self._chunk_left = _SIZE_LINE
            else:
                take = min(left, n - pos)
                out.append(buf[pos : pos + take])
                pos += take
                left -= take
                self._chunk_left = left if left else _DATA_CRLF
        if out:  # also before a failure: what did arrive is shown (an error body, say)
            self.response.take(now, b"".join(out) if len(out) > 1 else out[0])
        return self._complete(now) if outcome == COMPLETE else outcome

    # -- ends -------------------------------------------------------------
    def _complete(self, now: int) -> int:
        self._enter(_DONE)
        self.response.end_ns = now
        self.response.complete = True
        return COMPLETE

    def _fail(self, why: str) -> int:
        self._enter(_FAILED)
        self._buf = b""
        self.error = why
        return FAILED


def _chunk_size(line: bytes) -> int:
    """The size on a chunk-size line (extensions after `;` ignored), or -1 if it is not hex."""
    digits = line.split(b";", 1)[0].strip(b" \t")
    if not digits or digits.strip(_HEX_DIGITS):
        return -1
    return int(digits, 16)
