"""The CLI as a user drives it, against the scripted server: run a sweep, read it back, and the
bad-input paths (one line, non-zero exit, nothing written)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import ScriptedServer
from tests.support.cli import bench
from tests.support.envelopes import envelope_paths, open_run, prompt_ids, records, sidecar
from tokenbench.envelope import keys
from tokenbench.envelope.schema import PROMPTS_SUFFIX
from tokenbench.verification import verify_file


def run_chatbot(
    server: ScriptedServer, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`bench run llm.inference.chatbot-short --base-url <scripted server> ARGS...`"""
    return bench(
        "run", "llm.inference.chatbot-short", "--base-url", server.base_url, *args, env=env
    )


def test_run_then_summary(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    out = tmp_path / "corpus" / "m"
    proc = run_chatbot(
        scripted_server,
        "--model",
        "ttft_ms=15;itl_ms=1;tokens=128",
        "--sweep",
        "1,3",
        "--requests",
        "6",
        "--output",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr
    envelopes = envelope_paths(out)
    assert len(envelopes) == 2
    for path in envelopes:
        opened = verify_file(path, keys.trusted_keys())  # signed, sidecars and metrics check out
        assert opened.signer is not None
        env = opened.predicate
        rows = records(opened)
        load = env.parameters.load
        assert len(rows) == load.requests + load.warmup_requests
        assert env.metrics.requests_ok == 6
        assert env.parameters.workload.input_tokens_exact is True
        assert env.parameters.workload.template_overhead_tokens == 7
        assert all(r.input_tokens == 128 and r.output_tokens == 128 for r in rows)
        assert env.target.engine.name == "vllm"
        assert env.target.engine.detected
        assert env.parameters.suite.ignore_eos_sent
        assert env.energy.method == "none"  # the scripted server has no GPU behind it
        assert env.metrics.ttft_ms is not None
        assert env.metrics.ttft_ms.p50 >= 15.0
        assert env.metrics.joules_per_token is None
        assert "joules_per_token" in env.metrics.unmeasured
    parsed = [open_run(p) for p in envelopes]
    assert {e.predicate.parameters.load.concurrency for e in parsed} == {1, 3}
    assert len({e.predicate.comparability.key for e in parsed}) == 1
    ids = [i for e in parsed for i in prompt_ids(e)]
    assert len(ids) == len(set(ids)) == (6 + 1) + (6 + 3)  # one prompt per request, warmup too

    table = bench("summary", str(tmp_path / "corpus"))
    assert table.returncode == 0
    assert "2 envelopes loaded, 0 skipped (validation failure), 1 suites" in table.stdout
    as_json = bench("summary", str(tmp_path / "corpus"), "--report", "json")
    doc = json.loads(as_json.stdout)
    assert [r["concurrency"] for r in doc["runs"]] == [1, 3]
    assert all(r["joules_per_token"] is None for r in doc["runs"])
    assert all(r["output_throughput_tok_per_s"] > 0 for r in doc["runs"])


def test_summary_skips_invalid_envelopes(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    proc = run_chatbot(
        scripted_server,
        "--model",
        "ttft_ms=1;itl_ms=1",
        "--concurrency",
        "1",
        "--requests",
        "2",
        "--output",
        str(tmp_path),
    )
    assert proc.returncode == 0, proc.stderr
    # A well-formed envelope with a signature no trusted key verifies is skipped too.
    good = envelope_paths(tmp_path)[0]
    forged = json.loads(good.read_text())
    sig = bytearray(base64.b64decode(forged["signatures"][0]["sig"]))
    sig[0] ^= 0x01
    forged["signatures"][0]["sig"] = base64.b64encode(bytes(sig)).decode()
    (tmp_path / "forged.json").write_text(json.dumps(forged))
    (tmp_path / "garbage.json").write_text("{not json")
    (tmp_path / "wrong.json").write_text(json.dumps({"schema_version": 1, "kind": "run"}))
    (tmp_path / "list.json").write_text("[1, 2]")
    table = bench("summary", str(tmp_path / "*.json"))
    assert table.returncode == 0, table.stderr
    assert "1 envelopes loaded, 4 skipped (validation failure), 1 suites" in table.stdout
    assert "no trusted key verifies the signature" in table.stdout


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_base_url_is_one_line_exit_2_no_envelope(tmp_path: Path) -> None:
    port = _closed_port()
    proc = bench(
        "run",
        "llm.inference.chatbot-short",
        "--base-url",
        f"http://127.0.0.1:{port}/v1",
        "--output",
        str(tmp_path / "out"),
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error:")
    assert f"127.0.0.1:{port}" in lines[0]
    assert not list(tmp_path.rglob("*.json"))


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (
            ["run", "llm.inference.chatbot-shrt", "--base-url", "http://127.0.0.1:9/v1"],
            "did you mean 'llm.inference.chatbot-short'",
        ),
        (
            ["run", "llm.inference.chatbot-short", "--model", "smollm2-135m-instrct"],
            "did you mean 'smollm2-135m-instruct'",
        ),
        (["run", "llm.inference.chatbot-short", "--base-url", "ftp://x"], "not an http(s) URL"),
        (["run", "llm.inference.chatbot-short", "--model", "/nope/model.gguf"], "does not exist"),
        (["summary", "/nonexistent/dir"], "no such file"),
    ],
)
def test_bad_input_gets_one_line(args: list[str], needle: str, tmp_path: Path) -> None:
    proc = bench(*args, "--output", str(tmp_path)) if args[0] == "run" else bench(*args)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert needle in lines[0]


def test_bad_sweep_is_an_argument_error(tmp_path: Path) -> None:
    proc = bench("run", "llm.inference.chatbot-short", "--sweep", "1,x")
    assert proc.returncode == 2
    assert "not a comma-separated list of integers" in proc.stderr


def test_server_4xx_on_first_request_shows_its_message(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    proc = run_chatbot(
        scripted_server,
        "--model",
        "status=404",
        "--output",
        str(tmp_path / "o"),
    )
    assert proc.returncode == 2
    assert "HTTP 404: scripted failure 404" in proc.stderr
    assert not list(tmp_path.rglob("*.json"))


@pytest.mark.parametrize("route", ["flag", "env", "url-userinfo", "url-query"])
def test_api_key_is_sent_but_never_written(
    scripted_server: ScriptedServer, tmp_path: Path, route: str
) -> None:
    canary = "sk-canary-5f1e2d3c4b5a"
    env = {k: v for k, v in os.environ.items() if k not in ("TOKENBENCH_API_KEY", "OPENAI_API_KEY")}
    base = scripted_server.base_url
    extra: list[str] = []
    if route == "flag":
        extra = ["--api-key", canary]
    elif route == "env":
        env["TOKENBENCH_API_KEY"] = canary
    elif route == "url-userinfo":
        base = base.replace("http://", f"http://user:{canary}@")
    else:
        base = f"{base}?api-version=2024-06-01&key={canary}"
    out = tmp_path / "o"
    proc = bench("run", "llm.inference.chatbot-short", "--base-url", base, *extra,
                 "--model", "ttft_ms=1;itl_ms=1", "--concurrency", "1", "--requests", "1",
                 "--output", str(out), env=env)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    if route != "url-query":  # the key reached the server as a bearer token
        sent = hashlib.sha256(f"Bearer {canary}".encode()).hexdigest()
        assert {e["auth_sha256"] for e in scripted_server.log_entries()} == {sent}
    # Nothing tokenbench printed or wrote contains it, payloads decoded.
    assert canary not in proc.stdout + proc.stderr
    written = list(out.rglob("*"))
    assert written
    for path in written:
        text = path.read_text(errors="replace")
        if path.name.endswith(".json") and '"payload"' in text:
            text += base64.b64decode(json.loads(text)["payload"]).decode()
        assert canary not in text, path
        assert "api-version" not in text, path  # base URLs are stored without query strings
    # A failing run's error message does not leak it either.
    bad = bench("run", "llm.inference.chatbot-short", "--base-url",
                base.replace(str(scripted_server.port), "1"), *extra, "--output",
                str(tmp_path / "x"), env=env)  # fmt: skip
    assert bad.returncode == 2
    assert canary not in bad.stdout + bad.stderr


def test_duration_bounds_the_measured_phase(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    t0 = time.monotonic()
    proc = run_chatbot(
        scripted_server,
        "--model",
        "ttft_ms=5;itl_ms=10;tokens=20",
        "--concurrency",
        "2",
        "--requests",
        "1000",
        "--duration",
        "1",
        "--output",
        str(tmp_path),
    )
    elapsed = time.monotonic() - t0
    assert proc.returncode == 0, proc.stderr
    env = open_run(envelope_paths(tmp_path)[0]).predicate
    # ~0.2 s per request on 2 slots: about 10 in 1 s; nowhere near the 1000 allowed.
    assert 4 <= env.metrics.requests_measured <= 30
    assert env.parameters.load.duration_limit_s == 1.0
    assert env.metrics.duration_s is not None
    assert env.metrics.duration_s < 2.0
    assert elapsed < 30


def test_completions_api_and_single_prompt_suite(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    proc = bench(
        "run",
        "llm.inference.single-prompt",
        "--base-url",
        scripted_server.base_url,
        "--model",
        "ttft_ms=5;itl_ms=1;tokens=30",
        "--api",
        "completions",
        "--output",
        str(tmp_path),
    )
    assert proc.returncode == 0, proc.stderr
    env = open_run(envelope_paths(tmp_path)[0]).predicate
    assert env.parameters.suite.api == "completions"
    assert env.parameters.workload.kind == "fixed"
    assert env.parameters.workload.input_tokens_target == 6  # the prompt's words, as counted
    assert env.parameters.load.requests == 1
    assert env.parameters.load.warmup_requests == 1
    assert env.metrics.output_tokens_total == 30
    assert env.metrics.e2e_ms is not None


def test_suites_lists_builtins_and_bundled_models() -> None:
    proc = bench("suites")
    assert proc.returncode == 0
    for name in (
        "llm.inference.chatbot-short",
        "llm.inference.single-prompt",
        "smollm2-135m-instruct",
        "gemma-3-270m",
    ):
        assert name in proc.stdout


@pytest.mark.parametrize("store", [False, True])
def test_prompt_texts_only_when_asked(
    scripted_server: ScriptedServer, tmp_path: Path, store: bool
) -> None:
    flags = ["--store-prompts"] if store else []
    proc = run_chatbot(scripted_server, "--model", "ttft_ms=1;itl_ms=1", "--concurrency", "1",
                       "--requests", "2", "--output", str(tmp_path), *flags)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    opened = open_run(envelope_paths(tmp_path)[0])
    assert opened.predicate.privacy.prompts_stored is store
    manifest = json.loads(sidecar(opened, PROMPTS_SUFFIX).read_text())["prompts"]
    assert len(manifest) == 3
    assert all(("text" in p) is store for p in manifest)
    raw = records(opened)
    if store:  # the stored text is the one each request's digest names
        by_id = {p["prompt_id"]: p["text"] for p in manifest}
        assert all(hashlib.sha256(by_id[r.prompt_id].encode()).hexdigest()[:16] == r.prompt_id
                   for r in raw)  # fmt: skip
