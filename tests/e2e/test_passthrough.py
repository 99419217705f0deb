"""--extra-body and --header as a user drives them against the scripted server: the fields and
headers reach it on every request, tool-call streams count as output, the envelope records the
passthrough with credentials redacted, no file holds a secret value, bad input gets one line."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ScriptedServer
from tests.support.cli import bench
from tests.support.envelopes import envelope_paths, open_run, records, sidecar
from tokenbench.envelope.schema import CONFIG_SUFFIX, EvalPredicate, RunPredicate

SECRET = "supersecretvalue123456"
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]
EXTRA = {"tools": TOOLS, "tool_choice": "auto", "chat_template_kwargs": {"enable_thinking": False}}
HEADERS = ["--header", f"X-Api-Key: {SECRET}", "--header", "X-Team: blue"]


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def assert_no_secret(out: Path, *texts: str) -> None:
    """No file under `out` (signed payloads decoded) nor any text holds the secret value."""
    for text in texts:
        assert SECRET not in text
    written = [p for p in out.rglob("*") if p.is_file()]
    assert written
    for path in written:
        text = path.read_text(errors="replace")
        if path.name.endswith(".json") and '"payload"' in text:
            text += base64.b64decode(json.loads(text)["payload"]).decode()
        assert SECRET not in text, path


def assert_reached_server(server: ScriptedServer) -> None:
    entries = server.log_entries()
    assert entries
    for entry in entries:  # calibration and measured requests alike
        assert entry["passthrough"] == EXTRA
        headers: Any = entry["header_sha256"]
        assert headers["x-api-key"] == digest(SECRET)
        assert headers["x-team"] == digest("blue")
        assert {"stream", "stream_options", "model", "messages"} <= set(entry["body_keys"])  # type: ignore[arg-type]


@pytest.mark.parametrize("workers", [1, 2])
def test_run_passes_fields_and_headers_and_counts_tool_calls(
    scripted_server: ScriptedServer, tmp_path: Path, workers: int
) -> None:
    body = tmp_path / "body.json"
    body.write_text(json.dumps(EXTRA))
    out = tmp_path / "out"
    proc = bench("run", "llm.inference.chatbot-short", "--base-url", scripted_server.base_url,
                 "--model", "ttft_ms=5;itl_ms=1;tokens=6;tool_calls=1", "--concurrency", "2",
                 "--requests", "4", "--workers", str(workers), "--extra-body", f"@{body}",
                 *HEADERS, "--output", str(out))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert_reached_server(scripted_server)
    [path] = envelope_paths(out)
    opened = open_run(path)
    predicate = opened.predicate
    assert isinstance(predicate, RunPredicate)
    recorded = predicate.parameters.passthrough
    assert recorded is not None
    assert recorded.extra_body == EXTRA
    assert recorded.headers == {"X-Api-Key": "<redacted>", "X-Team": "blue"}
    rows = [r for r in records(opened) if not r.warmup]
    assert len(rows) == 4
    for r in rows:  # the tool call's arguments are the output: 6 tokens, timed from the first
        assert r.ok, r.error
        assert r.finish_reason == "tool_calls"
        assert (r.output_tokens, r.tokens_from_usage, len(r.chunk_ns)) == (6, True, 6)
        assert r.first_token_ns == r.first_content_ns
    assert predicate.metrics.ttft_ms is not None
    assert predicate.metrics.ttft_ms.p50 >= 5.0
    assert predicate.metrics.output_tokens_total == 4 * 6
    config = json.loads(sidecar(opened, CONFIG_SUFFIX).read_text())
    assert config["request"]["passthrough"]["headers"]["X-Api-Key"] == "<redacted>"
    assert config["request"]["passthrough"]["extra_body"] == EXTRA
    assert_no_secret(out, proc.stdout, proc.stderr)


def test_eval_passes_fields_and_headers(scripted_server_factory: Any, tmp_path: Path) -> None:
    data = tmp_path / "mine.jsonl"
    data.write_text("".join(json.dumps({"prompt": f"Question {i}?", "answer": "yes"}) + "\n"
                            for i in range(3)))  # fmt: skip
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"*": [["Question", "yes"]]}))
    server: ScriptedServer = scripted_server_factory("--answers", str(answers))
    out = tmp_path / "corpus"
    proc = bench("eval", "custom", "--data", str(data), "--base-url", server.base_url,
                 "--model", "m", "--extra-body", json.dumps(EXTRA), *HEADERS,
                 "-o", str(out))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert_reached_server(server)  # the probe and every item
    predicate = open_run(envelope_paths(out)[0]).predicate
    assert isinstance(predicate, EvalPredicate)
    assert predicate.metrics.scores["score"].correct == 3
    recorded = predicate.parameters.passthrough
    assert recorded is not None
    assert recorded.headers == {"X-Api-Key": "<redacted>", "X-Team": "blue"}
    assert_no_secret(out, proc.stdout, proc.stderr)


@pytest.mark.parametrize("command", ["run", "eval"])
@pytest.mark.parametrize(
    ("flags", "needle"),
    [
        (["--extra-body", "{not json"], "--extra-body is not valid JSON"),
        (["--extra-body", "[1]"], "must be a JSON object"),
        (["--extra-body", '{"stream": false}'], "cannot set 'stream'"),
        (["--extra-body", '{"model": "x"}'], "use --model"),
        (["--extra-body", "@/nonexistent/body.json"], "cannot read it"),
        (["--header", f"X-Api-Key {SECRET}"], "NAME:VALUE"),
        (["--header", f"X Key: {SECRET}"], "RFC 7230"),
        (["--header", f"Authorization: Bearer {SECRET}"], "TOKENBENCH_API_KEY"),
        (["--header", "Host: example.com"], "sets this header itself"),
    ],
)
def test_bad_passthrough_gets_one_line_and_exit_2(
    command: str, flags: list[str], needle: str, tmp_path: Path
) -> None:
    target = "llm.inference.chatbot-short" if command == "run" else "gsm8k"
    out = tmp_path / "out"
    proc = bench(command, target, "--base-url", "http://127.0.0.1:9/v1", *flags,
                 "--output", str(out))  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert needle in lines[0]
    assert SECRET not in proc.stdout + proc.stderr
    assert not out.exists()
