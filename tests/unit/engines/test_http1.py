"""The HTTP/1.1 response decoder: any split of a response decodes as the whole does, and bad or
cut-off framing is reported, never hung on or raised."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokenbench.engines.http1 import COMPLETE, FAILED, NEED_MORE, Response, ResponseDecoder

_TOKEN = st.text("abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=12)
_VALUE = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=20)
_RESERVED = {"content-length", "transfer-encoding", "connection"}


def _headers() -> st.SearchStrategy[list[tuple[str, str]]]:
    pair = st.tuples(_TOKEN.filter(lambda n: n not in _RESERVED), _VALUE)
    return st.lists(pair, max_size=6, unique_by=lambda p: p[0])


@st.composite
def _chunked(draw: st.DrawFn, body: bytes) -> bytes:
    """`body` in chunks of random sizes, each size in random hex case with random extensions."""
    out = []
    pos = 0
    while pos < len(body):
        size = draw(st.integers(1, len(body) - pos))
        digits = format(size, "x")
        digits = digits.upper() if draw(st.booleans()) else digits
        ext = draw(st.sampled_from(["", ";a=b", ';name="q v"', " ;x"]))
        out.append(f"{digits}{ext}\r\n".encode() + body[pos : pos + size] + b"\r\n")
        pos += size
    trailer = draw(st.sampled_from([b"", b"X-Trailer: 1\r\n"]))
    return b"".join(out) + b"0\r\n" + trailer + b"\r\n"


@st.composite
def responses(draw: st.DrawFn) -> tuple[bytes, int, dict[str, str], bytes]:
    """(wire bytes, status, headers as decoded, body) of a valid framed response."""
    status = draw(st.sampled_from([200, 201, 400, 404, 429, 500, 503]))
    headers = draw(_headers())
    body = draw(st.binary(max_size=600))
    chunked = draw(st.booleans())
    if chunked:
        headers.append(("Transfer-Encoding", "chunked"))
        payload = draw(_chunked(body))
    else:
        headers.append(("Content-Length", str(len(body))))
        payload = body
    head = f"HTTP/1.1 {status} Whatever\r\n" + "".join(f"{n}: {v}\r\n" for n, v in headers)
    decoded = {n.lower(): v.strip() for n, v in headers}
    return head.encode() + b"\r\n" + payload, status, decoded, body


def _splits(data: bytes) -> st.SearchStrategy[list[int]]:
    return st.lists(st.integers(0, len(data)), max_size=12).map(sorted)


def _decode(pieces: list[bytes], close: bool = False) -> tuple[int, Response, ResponseDecoder]:
    """Feeds the pieces in order (stamped 1, 2, …) until the decoder stops asking for more."""
    resp = Response()
    decoder = ResponseDecoder(resp)
    outcome = NEED_MORE
    for now, piece in enumerate(pieces, 1):
        if piece:  # a socket read is never empty
            outcome = decoder.feed(now, piece)
        if outcome != NEED_MORE:
            break
    if outcome == NEED_MORE and close:
        outcome = decoder.eof(len(pieces) + 1)
    return outcome, resp, decoder


def _cut(data: bytes, at: list[int]) -> list[bytes]:
    bounds = [0, *at, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


@given(responses(), st.data())
@settings(max_examples=300, deadline=None)
def test_any_split_decodes_as_the_whole(
    case: tuple[bytes, int, dict[str, str], bytes], data: st.DataObject
) -> None:
    wire, status, headers, body = case
    whole_outcome, whole, _ = _decode([wire])
    assert whole_outcome == COMPLETE
    assert (whole.status, whole.headers, whole.body, whole.complete) == (
        status, headers, body, True
    )  # fmt: skip
    outcome, split, _ = _decode(_cut(wire, data.draw(_splits(wire))))
    assert outcome == COMPLETE
    assert (split.status, split.headers, split.body, split.complete) == (
        status, headers, body, True
    )  # fmt: skip


@given(responses(), st.data())
@settings(max_examples=100, deadline=None)
def test_pieces_carry_the_stamp_of_the_read_they_came_in(
    case: tuple[bytes, int, dict[str, str], bytes], data: st.DataObject
) -> None:
    wire, *_ = case
    pieces = _cut(wire, data.draw(_splits(wire)))
    _, resp, _ = _decode(pieces)
    stamps = [now for now, _ in resp.pieces]
    assert stamps == sorted(set(stamps))  # at most one piece per read, in order
    for now, piece in resp.pieces:
        assert piece
        assert now <= len(pieces)
    assert resp.end_ns is not None
    assert all(now <= resp.end_ns for now in stamps)


@given(responses(), st.data())
@settings(max_examples=200, deadline=None)
def test_a_cut_off_response_is_reported_at_close(
    case: tuple[bytes, int, dict[str, str], bytes], data: st.DataObject
) -> None:
    wire, _, headers, body = case
    whole_end = wire.index(b"\r\n\r\n") + 4
    # Cut anywhere before the body is fully framed: the head, or the body short of its end.
    # (The framing comes from the decoded headers: a random header may be named "chunked".)
    chunked = headers.get("transfer-encoding") == "chunked"
    framed_end = wire.rindex(b"0\r\n") if chunked else whole_end + len(body)
    cut = data.draw(st.integers(0, max(0, framed_end - 1)))
    outcome, resp, decoder = _decode(_cut(wire[:cut], data.draw(_splits(wire[:cut]))), True)
    assert outcome == FAILED
    assert not resp.complete
    assert decoder.error


@given(st.binary(max_size=300), st.data())
@settings(max_examples=300, deadline=None)
def test_garbage_never_raises_and_never_waits_past_close(
    data_bytes: bytes, data: st.DataObject
) -> None:
    pieces = _cut(data_bytes, data.draw(_splits(data_bytes)))
    outcome, resp, decoder = _decode(pieces, close=True)
    assert outcome in (COMPLETE, FAILED)
    assert resp.complete == (outcome == COMPLETE)
    assert (decoder.error is not None) == (outcome == FAILED)


@given(
    st.sampled_from([b"zz", b"-1", b"0x10", b"1_0", b"+5", b"", b" ", b"\xff", b"1 2"]),
    st.data(),
)
@settings(max_examples=100, deadline=None)
def test_a_bad_chunk_size_is_a_framing_error(size: bytes, data: st.DataObject) -> None:
    wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n" + size + b"\r\n"
    outcome, resp, decoder = _decode(_cut(wire, data.draw(_splits(wire))))
    assert outcome == FAILED
    assert "chunk-size" in (decoder.error or "")
    assert resp.body == b"abc"
    assert not resp.complete


@pytest.mark.parametrize(
    ("wire", "needle"),
    [
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabcd\r\n0\r\n\r\n", "longer"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\na", "Content-Length"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "Content-Length"),
        (b"SMTP ready\r\n\r\n", "status line"),
        (b"HTTP/1.1 OK\r\n\r\n", "status line"),
        (b"HTTP/1.1 200 OK\r\n" + b"X: " + b"y" * 70_000, "64 KiB"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"1" * 5000, "4 KiB"),
    ],
)
def test_malformed_framing_is_reported(wire: bytes, needle: str) -> None:
    outcome, resp, decoder = _decode([wire])
    assert outcome == FAILED
    assert needle in (decoder.error or "")
    assert not resp.complete


def test_a_close_delimited_body_ends_at_close() -> None:
    outcome, resp, _ = _decode([b"HTTP/1.1 200 OK\r\n\r\nab", b"cd"], close=True)
    assert outcome == COMPLETE
    assert (resp.body, resp.complete, resp.end_ns) == (b"abcd", True, 3)


def test_bytes_past_the_content_length_are_not_body() -> None:
    outcome, resp, decoder = _decode([b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nabEXTRA"])
    assert outcome == COMPLETE
    assert resp.body == b"ab"
    assert decoder.feed(9, b"more") == COMPLETE  # after the end: not looked at
    assert resp.body == b"ab"


def test_no_body_statuses_and_interim_responses() -> None:
    outcome, resp, _ = _decode([b"HTTP/1.1 204 No Content\r\n\r\n"])
    assert (outcome, resp.status, resp.body) == (COMPLETE, 204, b"")
    wire = b"HTTP/1.1 100 Continue\r\nA: 1\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nz"
    outcome, resp, _ = _decode(_cut(wire, [10, 30, 40]))
    assert (outcome, resp.status, resp.body) == (COMPLETE, 200, b"z")
    assert "a" not in resp.headers


def test_the_consumer_takes_a_200_body_as_it_is_de_framed() -> None:
    got: list[tuple[int, bytes]] = []
    resp = Response(consumer=lambda now, data: got.append((now, data)))
    decoder = ResponseDecoder(resp)
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    assert decoder.feed(1, head + b"5\r\nda") == NEED_MORE
    assert decoder.feed(2, b"ta:\r\n3\r\n x\n\r\n") == NEED_MORE
    assert decoder.feed(3, b"0\r\n\r\n") == COMPLETE
    assert got == [(1, b"da"), (2, b"ta: x\n")]
    assert resp.pieces == []
    assert resp.end_ns == 3
