"""URL policy: endpoint parsing, the refusal of inward URLs read from files, and redaction."""

from __future__ import annotations

import pytest

from tokenbench.errors import ConfigError
from tokenbench.urls import (
    Endpoint,
    check_url_from_file,
    endpoint_secrets,
    redact_secrets,
    redact_url,
)


def test_endpoint_parse_keeps_secrets_out_of_view() -> None:
    ep = Endpoint.parse(" https://user:sk-secret@api.example.com/v1/?api-version=2024-06 ")
    assert (ep.scheme, ep.host, ep.port, ep.base_path) == ("https", "api.example.com", 443, "/v1")
    assert ep.userinfo_key == "sk-secret"
    assert ep.api_path("/chat/completions") == "/v1/chat/completions?api-version=2024-06"
    assert ep.url == "https://api.example.com:443/v1"
    assert "secret" not in repr(ep)
    assert "api-version" not in repr(ep)


@pytest.mark.parametrize(
    ("url", "host", "port", "default_port"),
    [
        ("http://127.0.0.1:8000/v1", "127.0.0.1", 8000, 80),
        ("http://localhost/v1", "localhost", 80, 80),
        ("http://[::1]:9000", "::1", 9000, 80),
        ("https://h", "h", 443, 443),
    ],
)
def test_endpoint_ports_and_ipv6(url: str, host: str, port: int, default_port: int) -> None:
    ep = Endpoint.parse(url)
    assert (ep.host, ep.port, ep.default_port) == (host, port, default_port)
    assert ep.url.startswith(f"{ep.scheme}://[" if ":" in host else f"{ep.scheme}://{host}")


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("ftp://host/v1", r"is not an http\(s\) URL"),
        ("127.0.0.1:8000", r"is not an http\(s\) URL"),
        ("http://:8000/v1", r"is not an http\(s\) URL"),
        ("http://host:99999/v1", "bad port"),
    ],
)
def test_endpoint_parse_refuses_bad_urls(url: str, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        Endpoint.parse(url)


def test_endpoint_parse_error_never_shows_credentials() -> None:
    with pytest.raises(ConfigError) as err:
        Endpoint.parse("ftp://user:hunter22@host/v1?key=abcdef")
    assert "hunter22" not in str(err.value)
    assert "abcdef" not in str(err.value)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://u:p@h.example:8443/v1?key=k#frag", "https://h.example:8443/v1"),
        ("http://[fe80::1]:80/x", "http://[fe80::1]:80/x"),
        ("http://h/v1", "http://h/v1"),
        ("http://h:bad/v1", "<unparseable URL>"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://169.254.169.254/latest", "link-local"),
        ("http://[fe80::1]/v1", "link-local"),
        ("http://metadata.google.internal/v1", "cloud metadata host"),
        ("http://METADATA/v1", "cloud metadata host"),
        ("http://10.0.0.5:8000/v1", "private or reserved"),
        ("http://192.168.1.2/v1", "private or reserved"),
        ("http://[fd00::1]/v1", "private or reserved"),
        ("http://0.0.0.0:8000/v1", "private or reserved"),
        ("http://224.0.0.1/v1", "private or reserved"),
    ],
)
def test_urls_from_files_pointing_inward_are_refused(url: str, why: str) -> None:
    with pytest.raises(ConfigError, match=why) as err:
        check_url_from_file(url + "?key=sk-hidden", allow_private=False)
    assert "sk-hidden" not in str(err.value)
    check_url_from_file(url, allow_private=True)  # the user said so


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/v1",
        "http://[::1]/v1",
        "https://api.openai.com/v1",
        "http://gpu-box/v1",
    ],
)
def test_loopback_and_public_names_are_allowed(url: str) -> None:
    check_url_from_file(url, allow_private=False)


def test_secrets_are_the_key_the_query_and_each_long_query_value() -> None:
    ep = Endpoint.parse("https://h/v1?api-version=2024&k=ab&token=tok-9999")
    secrets = endpoint_secrets(ep, "sk-live-1")
    assert secrets == ("sk-live-1", "api-version=2024&k=ab&token=tok-9999", "2024", "tok-9999")
    text = "echo sk-live-1 and token=tok-9999, k=ab"
    assert redact_secrets(text, secrets) == "echo *** and token=***, k=ab"
    assert endpoint_secrets(Endpoint.parse("http://h/v1"), None) == ()
    assert endpoint_secrets(Endpoint.parse("http://h/v1"), "abc") == ()  # too short to scrub
