"""Request passthrough: the user's extra body fields (`--extra-body`) and HTTP headers
(`--header`), checked once here for the CLI and library alike, and redacted for the record."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from tokenbench.errors import ConfigError

# Body fields tokenbench sets itself: what to do instead, said in the refusal.
OWNED_FIELDS = {
    "stream": "tokenbench always streams, to time each token",
    "stream_options": "tokenbench asks for usage in the stream itself",
    "model": "use --model",
    "messages": "the workload supplies the prompts",
    "prompt": "the workload supplies the prompts",
}
# Body fields `bench run` records from its own settings (the envelope's suite and load):
# sent from --extra-body they would change what was asked while the envelope claims otherwise.
RUN_RECORDED = {
    "max_tokens": "use --output-len (or output_tokens in a suite file)",
    "max_completion_tokens": "use --output-len (or output_tokens in a suite file)",
    "temperature": "set temperature in a suite file (bench run FILE.toml)",
    "ignore_eos": "set ignore_eos in a suite file (bench run FILE.toml)",
    "seed": "use --seed",
    "cache_prompt": "use --prefix-cache allow|defeat",
    "n": "tokenbench times one answer per request; remove it",
}  # fmt: skip
# `bench eval` records its answer budget, temperature, seed and samples the same way. Its extra
# body enters the settings digest, so the rest (cache_prompt: false) stays the user's to set.
EVAL_RECORDED = {
    "max_tokens": "use --max-tokens", "max_completion_tokens": "use --max-tokens",
    "temperature": "use --temperature", "seed": "use --seed", "n": "use --samples",
}  # fmt: skip
# Headers the HTTP client writes or that change the connection's framing.
OWNED_HEADERS = frozenset({"host", "content-length", "content-type", "transfer-encoding",
                           "connection", "accept", "expect", "te", "trailer", "upgrade",
                           "keep-alive"})  # fmt: skip
REDACTED = "<redacted>"
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 7230 token: a header name
# "key" covers apikey; "cred" but not "credit" (X-Credit-Limit is no credential)
_SECRET_NAME = re.compile(
    r"auth|key|token|secret|cookie|session|passw|pwd|cred(?!it)|private|jwt|signature", re.I
)
# user:password as a whole value: the user starts with a letter (not 2025-11-30T12:00), the
# password has a digit or symbol and is not a URL's //host (https://...) nor a port (host:8080)
_USER_PASS = re.compile(r"^\s*[A-Za-z][^\s:]*:(?!//)(?!\d+\s*$)(?=\S*[^A-Za-z\s])\S+\s*$")
_HEX_RUN = re.compile(r"[0-9A-Fa-f]{16,}")  # a digest or key; with digits and letters, below
_CREDENTIAL = re.compile(r"^\s*(bearer|basic|digest|token)\s+\S", re.I)
_LONG_RUN = re.compile(r"[A-Za-z0-9_\-.=+/]{20,}")
_VERY_LONG = 32  # a run this long is a key whatever its case: words rarely run unbroken so far
# The published prefixes of API keys and tokens (OpenAI/Anthropic/Stripe sk-, pk-, rk-; Slack
# xox?-; GitHub ghp_ and kin; GitLab glpat-; Hugging Face hf_; AWS AKIA/ASIA; Google AIza).
_KEY_PREFIX = re.compile(
    r"(?<![A-Za-z0-9])(?:(?:sk|pk|rk)[-_][A-Za-z0-9_\-]{8,}|xox[a-z]-[A-Za-z0-9\-]{8,}"
    r"|gh[pousr]_[A-Za-z0-9]{8,}|github_pat_\w{8,}|glpat-[\w\-]{8,}|hf_[A-Za-z0-9]{8,}"
    r"|(?:AKIA|ASIA)[0-9A-Z]{12,}|AIza[\w\-]{20,})"
)


def check_body_field(name: str) -> None:
    """Refuse a body field tokenbench sets itself."""
    why = OWNED_FIELDS.get(name)
    if why is not None:
        raise ConfigError(f"--extra-body cannot set {name!r}: {why}; remove it")


def check_recorded(body: Mapping[str, Any], recorded: Mapping[str, str], command: str) -> None:
    """Refuse a body field `command` records from its own settings (RUN_RECORDED,
    EVAL_RECORDED), naming the flag that sets it."""
    for name in body:
        how = recorded.get(name)
        if how is not None:
            raise ConfigError(f"--extra-body cannot set {name!r}: {command} records it from its "
                              f"own settings; {how}")  # fmt: skip


def check_header(name: str, value: str) -> None:
    """Refuse a header that is malformed or that tokenbench owns. The value is never echoed:
    it may be a credential."""
    if not name:
        raise ConfigError("--header has an empty name; write it as NAME:VALUE, e.g. X-Team:a")
    if not _TOKEN.fullmatch(name):
        raise ConfigError(
            # not echoed: a name that is not a token may hold a value typed without its colon
            "a --header name has characters a header name cannot have (RFC 7230 token: "
            "letters, digits and !#$%&'*+-.^_`|~); fix the name"
        )
    lowered = name.lower()
    if lowered == "authorization":
        raise ConfigError(
            "--header Authorization: pass the key with $TOKENBENCH_API_KEY (or --api-key), "
            "which is sent as a bearer token and never recorded"
        )
    if lowered in OWNED_HEADERS:
        raise ConfigError(f"--header {name}: tokenbench sets this header itself; remove it")
    if any(c in value for c in "\r\n\0"):
        raise ConfigError(f"--header {name}: the value has a line break or NUL; remove it")
    if any(ord(c) > 255 or (ord(c) < 32 and c != "\t") or ord(c) == 127 for c in value):
        raise ConfigError(f"--header {name}: the value has a control or non-Latin-1 character; "
                          "send plain text")  # fmt: skip


def parse_header(text: str) -> tuple[str, str]:
    """`NAME:VALUE` (spaces around the value dropped) as a checked (name, value) pair."""
    name, colon, value = text.strip(" \t").partition(":")
    if not colon:
        raise ConfigError("--header needs NAME:VALUE with a colon, e.g. --header 'X-Team: a'")
    value = value.strip(" \t")
    check_header(name, value)
    return name, value


def parse_extra_body(text: str) -> dict[str, Any]:
    """`--extra-body`: a JSON object given inline or as `@FILE`, checked."""
    where = "--extra-body"
    if text.startswith("@"):
        path = Path(text[1:]).expanduser()
        where = f"--extra-body @{path}"
        try:
            data = path.read_bytes()
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise ConfigError(f"{where}: cannot read it ({reason}); name a JSON file") from None
    else:
        data = text.encode()
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ConfigError(f"{where} is not valid JSON ({exc}); pass a JSON object, "
                          """e.g. '{"top_k": 20}'""") from None  # fmt: skip
    if not isinstance(obj, dict):
        raise ConfigError(f"{where} must be a JSON object of request fields, not a "
                          f"{type(obj).__name__}; e.g. '{{\"top_k\": 20}}'")  # fmt: skip
    for name in obj:
        check_body_field(name)
    return obj


def looks_secret(name: str, value: str) -> bool:
    """A header value to keep out of every record: a credential-like name, a bearer/basic
    credential, a known key prefix (sk-, ghp_, AKIA, ...), or a long run of key-like characters
    with digits or mixed case, or of 32 or more whatever the case; a user:password value; a hex
    run of 16 or more with digits and letters (not a long number)."""
    if _SECRET_NAME.search(name) or _CREDENTIAL.match(value) or _KEY_PREFIX.search(value):
        return True
    if _USER_PASS.match(value) or any(_digits_and_letters(h) for h in _HEX_RUN.findall(value)):
        return True
    for run in _LONG_RUN.findall(value):
        if len(run) >= _VERY_LONG:
            return True
        digits = any(c.isdigit() for c in run)
        if digits or (any(c.islower() for c in run) and any(c.isupper() for c in run)):
            return True
    return False


def _digits_and_letters(run: str) -> bool:
    return any(c.isdigit() for c in run) and any(c.isalpha() for c in run)


def redacted(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Headers as they may be recorded: credential-like values replaced by `<redacted>`."""
    return {n: REDACTED if looks_secret(n, v) else v for n, v in headers}


@dataclass(frozen=True, slots=True)
class Passthrough:
    """What the user adds to every request: body fields (merged over tokenbench's, except the
    fields it owns) and headers. Checked on construction."""

    extra_body: Mapping[str, Any] = field(default_factory=dict)
    headers: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        for name in self.extra_body:
            check_body_field(name)
        seen: set[str] = set()
        for name, value in self.headers:
            check_header(name, value)
            if name.lower() in seen:
                raise ConfigError(f"--header {name} is given twice; give it once")
            seen.add(name.lower())

    def __repr__(self) -> str:  # header values may be credentials
        body, headers = dict(self.extra_body), self.recorded_headers()
        return f"Passthrough(extra_body={body!r}, headers={headers!r})"

    @classmethod
    def from_flags(cls, extra_body: str | None, headers: Sequence[str] = ()) -> Passthrough:
        """From `--extra-body JSON|@FILE` and each `--header NAME:VALUE`."""
        body = parse_extra_body(extra_body) if extra_body is not None else {}
        return cls(body, tuple(parse_header(h) for h in headers))

    def __bool__(self) -> bool:
        return bool(self.extra_body or self.headers)

    @property
    def body_fields(self) -> tuple[tuple[str, Any], ...]:
        """The extra body as pairs, the form GenerationParams holds."""
        return tuple(self.extra_body.items())

    def recorded_headers(self) -> dict[str, str]:
        return redacted(self.headers)

    def secrets(self) -> tuple[str, ...]:
        """The header values that must not appear in shown text (a server may echo one)."""
        return tuple(v for n, v in self.headers if v and looks_secret(n, v))

    def record(self) -> dict[str, Any] | None:
        """What an envelope and its config record: the body as sent, the headers redacted;
        None when there is nothing."""
        if not self:
            return None
        return {"extra_body": dict(self.extra_body), "headers": self.recorded_headers()}
