"""URL policy: where a server is (`Endpoint`), which URLs read from files may be used, and what
of a URL or an API key may be shown or stored."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from tokenbench.errors import ConfigError

# Shorter strings are too likely to occur in ordinary text to be scrubbed from it.
_MIN_SECRET_CHARS = 4

_METADATA_HOSTS = frozenset(
    {"metadata", "metadata.google.internal", "instance-data", "metadata.azure.com"}
)


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

    @property
    def default_port(self) -> int:
        return 443 if self.scheme == "https" else 80


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


def endpoint_secrets(endpoint: Endpoint, api_key: str | None) -> tuple[str, ...]:
    """What must never appear in shown text: the API key, the whole query, and each query
    value (some servers echo one parameter back in an error message)."""
    values = [v for _, _, v in (p.partition("=") for p in endpoint.query.split("&"))]
    return tuple(s for s in (api_key, endpoint.query, *values) if s and len(s) >= _MIN_SECRET_CHARS)


def redact_secrets(text: str, secrets: tuple[str, ...]) -> str:
    """`text` with every secret replaced by `***`."""
    for secret in secrets:
        text = text.replace(secret, "***")
    return text
