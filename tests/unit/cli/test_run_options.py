"""Bad option values are one-line errors with exit 2: bench run, eval, infra and recommend."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import bench


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--repeat", "0"], "--repeat must be at least 1"),
        (["--interleave"], "--interleave alternates repeats"),
    ],
)
def test_bad_repeat_flags_are_one_line_errors(flags: list[str], message: str) -> None:
    proc = bench("run", "llm.inference.chatbot-short", "--base-url", "http://127.0.0.1:9/v1",
                 *flags)  # fmt: skip
    assert proc.returncode == 2
    assert message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--max-tail-share", "0"], "--max-tail-share is a fraction"),
        (["--max-schedule-lag", "-1"], "--max-schedule-lag must be positive"),
    ],
)
def test_bad_validity_limits_are_one_line_errors(flags: list[str], message: str) -> None:
    proc = bench("run", "llm.inference.chatbot-short", "--base-url", "http://127.0.0.1:9/v1",
                 *flags)  # fmt: skip
    assert proc.returncode == 2
    assert message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("command", "body", "message"),
    [
        ("run", '{"cache_prompt": true}', "use --prefix-cache allow|defeat"),
        ("run", '{"max_tokens": 8}', "use --output-len"),
        ("run", '{"temperature": 1}', "suite file"),
        ("eval", '{"temperature": 1}', "use --temperature"),
        ("eval", '{"max_completion_tokens": 8}', "use --max-tokens"),
    ],
)
def test_extra_body_cannot_change_what_the_envelope_records(
    command: str, body: str, message: str, tmp_path: Path
) -> None:
    target = "llm.inference.chatbot-short" if command == "run" else "gsm8k"
    out = tmp_path / "out"
    proc = bench(command, target, "--base-url", "http://127.0.0.1:9/v1", "--extra-body", body,
                 "--output", str(out))  # fmt: skip
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not out.exists()


@pytest.mark.parametrize(
    ("command", "flags", "message"),
    [
        ("run", ["--min-duration", "-1"], "--min-duration must be positive"),
        ("run", ["--min-requests", "0"], "--min-requests must be at least 1"),
        ("run", ["--rate", "2", "--burstiness", "0.5"], "add --arrival gamma"),
        ("run", ["--stages", "2s@c1", "--ramp", "c1:c2@2s"], "pass --stages or --ramp, not both"),
        ("run", ["--ramp", "c1:c4@4s", "--ramp-steps", "1"], "--ramp-steps must be at least 2"),
        ("infra", ["--context", "0"], "--context and --concurrency must be at least 1"),
        ("recommend", ["--language", "english"], "did you mean 'en'?"),
    ],
)
def test_nonsense_values_are_refused(command: str, flags: list[str], message: str) -> None:
    args = {
        "run": ["llm.inference.chatbot-short", "--base-url", "http://127.0.0.1:9/v1"],
        "infra": ["llama-3.1-8b-instruct"],
        "recommend": [],
    }[command]
    proc = bench(command, *args, *flags)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--temperature", "-1"], "--temperature cannot be negative"),
        (["--max-tokens", "0"], "--max-tokens must be at least 1"),
    ],
)
def test_eval_refuses_nonsense_sampling(flags: list[str], message: str, tmp_path: Path) -> None:
    data = tmp_path / "q.jsonl"
    data.write_text('{"prompt": "2+2?", "answer": "4"}\n')
    proc = bench("eval", "custom", "--data", str(data), "--scorer", "exact", "--base-url",
                 "http://127.0.0.1:9/v1", *flags)  # fmt: skip
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert message in proc.stderr
