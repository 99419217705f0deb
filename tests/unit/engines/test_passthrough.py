"""--extra-body and --header: the checks, the redaction, the merge into request bodies and
headers, and tool-call / structured-output streams counted as output."""

from __future__ import annotations

import string
from pathlib import Path

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tokenbench.engines.http import HttpClient
from tokenbench.engines.http1 import Response
from tokenbench.engines.openai import (
    Api,
    GenerationParams,
    StreamParser,
    parse_stream,
    request_body,
)
from tokenbench.engines.passthrough import (
    EVAL_RECORDED,
    REDACTED,
    RUN_RECORDED,
    Passthrough,
    check_recorded,
    looks_secret,
    parse_extra_body,
    parse_header,
    redacted,
)
from tokenbench.engines.profiles import PROFILES
from tokenbench.envelope.schema import Parameters, PassthroughInfo
from tokenbench.errors import ConfigError
from tokenbench.metrics.latency import itl_ms, ttfat_ms
from tokenbench.records import RequestRecord
from tokenbench.urls import Endpoint

SECRET = "supersecretvalue123456"


def refusal(call: object, *args: object) -> str:
    with pytest.raises(ConfigError) as info:
        call(*args)  # type: ignore[operator]
    message = str(info.value)
    assert "\n" not in message
    return message


# -- --extra-body -------------------------------------------------------------------------


def test_extra_body_inline_and_from_a_file(tmp_path: Path) -> None:
    assert parse_extra_body('{"top_k": 20, "tools": []}') == {"top_k": 20, "tools": []}
    path = tmp_path / "body.json"
    path.write_text('{"chat_template_kwargs": {"enable_thinking": false}}')
    assert parse_extra_body(f"@{path}") == {"chat_template_kwargs": {"enable_thinking": False}}


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("{top_k: 20}", "is not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('"x"', "must be a JSON object"),
        ('{"stream": false}', "cannot set 'stream'"),
        ('{"stream_options": {}}', "cannot set 'stream_options'"),
        ('{"model": "other"}', "use --model"),
        ('{"messages": []}', "the workload supplies the prompts"),
        ("@/nonexistent/body.json", "cannot read it"),
    ],
)
def test_bad_extra_body_is_refused_in_one_line(text: str, needle: str) -> None:
    assert needle in refusal(parse_extra_body, text)


@pytest.mark.parametrize(
    ("field", "flag"),
    [
        ("cache_prompt", "--prefix-cache allow|defeat"),
        ("max_tokens", "--output-len"),
        ("max_completion_tokens", "--output-len"),
        ("temperature", "suite file"),
        ("ignore_eos", "suite file"),
        ("seed", "--seed"),
        ("n", "one answer per request"),
    ],
)
def test_a_run_refuses_fields_its_envelope_records(field: str, flag: str) -> None:
    message = refusal(check_recorded, {"top_k": 5, field: 1}, RUN_RECORDED, "bench run")
    assert f"cannot set {field!r}" in message
    assert "bench run records it" in message
    assert flag in message


def test_an_eval_refuses_its_recorded_fields_but_passes_the_cache_switch() -> None:
    for field, flag in (("temperature", "--temperature"), ("max_tokens", "--max-tokens"),
                        ("seed", "--seed"), ("n", "--samples")):  # fmt: skip
        assert flag in refusal(check_recorded, {field: 1}, EVAL_RECORDED, "bench eval")
    # an eval records its extra body in its settings digest, and docs/evals.md turns llama.cpp's
    # prompt cache off with it
    check_recorded({"cache_prompt": False, "ignore_eos": True}, EVAL_RECORDED, "bench eval")


def test_every_engine_cache_switch_is_a_run_recorded_field() -> None:
    """--prefix-cache sends these: an extra body must not undo them behind the envelope."""
    for profile in PROFILES.values():
        assert set(profile.prefix_cache_off) <= set(RUN_RECORDED), profile.name


def test_an_unparseable_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "body.json"
    path.write_text("{")
    message = refusal(parse_extra_body, f"@{path}")
    assert str(path) in message
    assert "not valid JSON" in message


# -- --header ----------------------------------------------------------------------------


def test_header_parsing_strips_the_value() -> None:
    assert parse_header("X-Team:  blue ") == ("X-Team", "blue")
    assert parse_header("X-Empty:") == ("X-Empty", "")
    assert parse_header("X-Url: http://a:8/b") == ("X-Url", "http://a:8/b")  # first colon only


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("X-Team blue", "needs NAME:VALUE"),
        (": blue", "empty name"),
        ("X Team: blue", "RFC 7230"),
        ("X-Tëam: blue", "RFC 7230"),
        ("X-Team: a\rb", "line break"),
        ("X-Team: a\nInjected: b", "line break"),
        ("X-Team: a\x01b", "control"),
        ("Host: evil", "sets this header itself"),
        ("content-length: 5", "sets this header itself"),
        ("Content-Type: text/plain", "sets this header itself"),
        ("Transfer-Encoding: chunked", "sets this header itself"),
        ("Connection: close", "sets this header itself"),
        ("Authorization: Bearer " + SECRET, "TOKENBENCH_API_KEY"),
    ],
)
def test_bad_header_is_refused_without_its_value(text: str, needle: str) -> None:
    message = refusal(parse_header, text)
    assert needle in message
    assert SECRET not in message
    assert "blue" not in message
    assert "evil" not in message


def test_a_header_given_twice_is_refused() -> None:
    assert "given twice" in refusal(Passthrough.from_flags, None, ["X-A: 1", "x-a: 2"])


_NAME = st.text(alphabet=string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~", min_size=1)
_VALUE = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=255, exclude_characters="\x7f")
)


@given(name=_NAME, value=_VALUE)
def test_header_parser_round_trips_every_valid_header(name: str, value: str) -> None:
    owned = name.lower() in {"host", "content-length", "content-type", "transfer-encoding",
                             "connection", "accept", "expect", "te", "trailer", "upgrade",
                             "keep-alive", "authorization"}  # fmt: skip
    if owned:
        with pytest.raises(ConfigError):
            parse_header(f"{name}: {value}")
        return
    assert parse_header(f"{name}: {value}") == (name, value.strip(" \t"))


def parsed(text: str) -> tuple[str, str] | str:
    """The header, or the refusal's message."""
    try:
        return parse_header(text)
    except ConfigError as exc:
        return str(exc)


@given(text=st.text())
def test_header_parser_accepts_or_refuses_in_one_line(text: str) -> None:
    outcome = parsed(text)
    if isinstance(outcome, str):
        assert "\n" not in outcome
        assert "\r" not in outcome
        return
    name, value = outcome
    assert name
    assert ":" not in name
    assert not any(c in value for c in "\r\n\0")
    request = HttpClient(Endpoint.parse("http://h/v1"), extra_headers=[(name, value)])
    head = request._request_bytes("GET", "/x", None, False).split(b"\r\n\r\n")[0]
    assert head.split(b"\r\n")[-1] == f"{name}: {value}".encode("latin-1")


@given(
    name=st.text().filter(lambda n: SECRET not in n),
    sep=st.sampled_from([":", ": ", " ", ""]),
    tail=st.text(),
)
def test_a_refusal_never_shows_the_value(name: str, sep: str, tail: str) -> None:
    outcome = parsed(f"{name}{sep}{SECRET}{tail}")
    assert SECRET not in (outcome if isinstance(outcome, str) else "")


# -- redaction ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "secret"),
    [
        ("X-Api-Key", "abc", True),
        ("X-Auth-Tenant", "blue", True),
        ("Cookie", "a=b", True),
        ("X-Session-Id", "1", True),
        ("X-Request-Signature", "x", True),
        ("X-Access-TOKEN", "x", True),
        ("Proxy-Password", "x", True),
        ("X-Upstream", "Bearer abc", True),
        ("X-Upstream", "basic dXNlcjpwYXNz", True),
        ("X-Opaque", "k1_AbCdEfGhIjKlMnOpQrSt", True),  # long and key-like
        ("X-Opaque", "ABCDEFGHIJKLMNOPqrstuvwxyz", True),  # mixed case, long
        ("X-Foo", "sk-abcdefghijklmnopqrstuvwxyz", True),  # a key prefix, all lowercase
        ("X-Foo", "pk_live_abcdefghijkl", True),
        ("X-Foo", "xoxb-abcdefghijkl", True),
        ("X-Foo", "ghp_abcdefghijklmnop", True),
        ("X-Foo", "AKIAABCDEFGHIJKLMNOP", True),
        ("X-Foo", "hf_abcdefghijklmnop", True),
        ("X-Foo", "abcdefghijklmnopqrstuvwxyzabcdefgh", True),  # one run of 34: a key by length
        ("X-Creds", "x", True),
        ("X-Db-Pwd", "x", True),
        ("X-Passwd", "x", True),
        ("X-Private-Tag", "x", True),
        ("X-Jwt", "x", True),
        ("X-Apikey", "x", True),
        ("X-Creds", "user:p4ssw0rd!", True),
        ("X-Upstream", "user:p4ssw0rd!", True),  # user:password under any name
        ("X-Upstream", "alice@example.com:hunter-two", True),  # a symbol in the password
        ("X-Model", "llama3:8b", True),  # shaped like one: over-redacted, as documented
        ("X-Id", "9f86d081884c7d65", True),  # a hex run of 16
        ("X-Id", "trace=9F86D081884C7D65AB", True),
        ("X-Credit-Limit", "100", False),  # credit is no credential
        ("X-Request-Id", "run-7", False),
        ("X-Region", "eu-west-1", False),
        ("X-Priority", "tier:gold", False),  # letters only after the colon
        ("X-Forwarded-Host", "proxy.internal:8080", False),  # a port
        ("X-Origin", "https://example.com/a1", False),  # a URL
        ("X-Started", "2025-11-30T12:00:00Z", False),  # a time
        ("X-Count", "1234567890123456789", False),  # a long number is no hex key
        ("X-Build", "deadbeefcafebabe", False),  # hex letters only: a word-like run
        ("X-Team", "research", False),
        ("X-Team", "risk-management", False),  # "sk-" inside a word is no prefix
        ("X-Team", "blue", False),
        ("X-Route", "my-team-production-cluster", False),  # long, but words
        ("X-Route", "ab12", False),  # has a digit, but short
        ("User-Agent", "my-harness/1.0", False),
    ],
)
def test_credential_like_headers_are_redacted(name: str, value: str, secret: bool) -> None:
    assert looks_secret(name, value) is secret
    assert redacted([(name, value)]) == {name: REDACTED if secret else value}


def test_the_record_and_repr_never_hold_a_secret_value() -> None:
    p = Passthrough.from_flags('{"top_k": 5}', [f"X-Api-Key: {SECRET}", "X-Team: blue"])
    assert p.record() == {"extra_body": {"top_k": 5},
                          "headers": {"X-Api-Key": REDACTED, "X-Team": "blue"}}  # fmt: skip
    assert SECRET not in repr(p)
    assert p.secrets() == (SECRET,)
    assert Passthrough().record() is None
    assert not Passthrough()
    info = PassthroughInfo.model_validate(p.record())
    assert SECRET not in info.model_dump_json()


def test_parameters_without_passthrough_still_load() -> None:
    fields = set(Parameters.model_fields)
    assert "passthrough" in fields
    assert Parameters.model_fields["passthrough"].default is None


# -- the merge into requests ---------------------------------------------------------------


def test_extra_body_is_merged_after_the_engine_extras() -> None:
    extra = (("cache_prompt", True), ("tools", [{"type": "function"}]), ("max_tokens", 3))
    params = GenerationParams(Api.CHAT, "m", extras=(("cache_prompt", False),), extra_body=extra)
    body = orjson.loads(request_body(params, "hi", 64))
    assert body["cache_prompt"] is True  # the user wins over the engine's extras
    assert body["tools"] == [{"type": "function"}]
    assert body["max_tokens"] == 3
    assert body["stream"] is True
    assert body["model"] == "m"
    assert body["stream_options"] == {"include_usage": True}


def test_generation_params_refuse_owned_fields_for_library_callers() -> None:
    assert "cannot set 'stream'" in refusal(
        lambda: GenerationParams(Api.CHAT, "m", extra_body=(("stream", False),))
    )


def test_headers_go_on_every_request_and_secret_values_are_redacted_from_errors() -> None:
    client = HttpClient(
        Endpoint.parse("http://h/v1"),
        api_key="sk-123456",
        extra_headers=[("X-Api-Key", SECRET), ("X-Team", "blue"), ("User-Agent", "mine/1")],
    )
    for stream, body in ((True, b"{}"), (False, None)):
        head = client._request_bytes("POST", "/v1/x", body, stream).decode("latin-1")
        assert f"X-Api-Key: {SECRET}\r\n" in head
        assert "X-Team: blue\r\n" in head
        assert "User-Agent: mine/1\r\n" in head
        assert "User-Agent: tokenbench" not in head
        assert "Authorization: Bearer sk-123456\r\n" in head
    assert client.redact(f"bad header {SECRET}") == "bad header ***"
    assert client.redact("team blue") == "team blue"
    plain = HttpClient(Endpoint.parse("http://h/v1"))._request_bytes("GET", "/x", None, False)
    assert b"User-Agent: tokenbench\r\n" in plain


def test_http_client_refuses_a_bad_header_from_a_library_caller() -> None:
    assert "line break" in refusal(
        lambda: HttpClient(Endpoint.parse("http://h/v1"), extra_headers=[("X-A", "a\r\nB: c")])
    )


# -- tool calls and structured output counted as output --------------------------------


def _event(delta: dict[str, object], finish: str | None = None) -> bytes:
    obj = {"id": "r1", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return b"data: " + orjson.dumps(obj) + b"\n\n"


def _tool_stream(usage: bool) -> Response:
    first = {"index": 0, "id": "call-1", "type": "function",
             "function": {"name": "lookup", "arguments": '{"q": "'}}  # fmt: skip
    pieces = [
        (100, _event({"role": "assistant"})),  # no output: not a token
        (130, _event({"tool_calls": [first]})),
        (140, _event({"tool_calls": [{"index": 0, "function": {"arguments": "par"}}]})),
        (155, _event({"tool_calls": [{"index": 0, "function": {"arguments": 'is"}'}}]})),
        (160, _event({}, finish="tool_calls")),
    ]
    tail = b"data: [DONE]\n\n"
    if usage:
        counts = {"prompt_tokens": 9, "completion_tokens": 7}
        tail = b"data: " + orjson.dumps({"choices": [], "usage": counts}) + b"\n\n" + tail
    pieces.append((161, tail))
    return Response(200, {"content-type": "text/event-stream"}, pieces, 162, True)


@pytest.mark.parametrize("usage", [True, False])
def test_a_tool_call_only_stream_is_output(usage: bool) -> None:
    record = RequestRecord(0, 0, 0, False, "p", 0)
    record.send_ns = 0
    parse_stream(_tool_stream(usage), Api.CHAT, record, anchor_ns=100)
    assert record.ok
    assert record.finish_reason == "tool_calls"
    assert record.first_token_ns == record.first_content_ns == 30  # TTFT and TTFAT alike
    assert record.chunk_ns == [30, 40, 55]  # the role-only and finish chunks are not output
    assert record.output_tokens == (7 if usage else 3)
    assert record.tokens_from_usage is usage
    assert ttfat_ms(record) == pytest.approx(30e-6)
    assert itl_ms(record)  # gaps between tool-call chunks are inter-token latencies


def test_structured_output_is_plain_content() -> None:
    pieces = [(10 + i, _event({"content": c})) for i, c in enumerate(['{"a"', ": 1", "}"])]
    done = _event({}, finish="stop") + b"data: [DONE]\n\n"
    response = Response(200, {}, [*pieces, (20, done)], 21, True)
    record = RequestRecord(0, 0, 0, False, "p", 0)
    text: list[str] = []
    parser = StreamParser(Api.CHAT, record, 0)
    parser.text = text
    for t, piece in response.pieces:
        parser.feed(t, piece)
    parser.finish(response)
    assert record.ok
    assert record.output_tokens == 3
    assert record.first_content_ns == 10
    assert orjson.loads("".join(text)) == {"a": 1}
