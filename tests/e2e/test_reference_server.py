"""`bench reference-server` as a user runs it: start it, one streamed request over plain HTTP,
its log line with the write timestamps, stop it."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def test_reference_server_serves_and_logs(tmp_path: Path) -> None:
    log_prefix = tmp_path / "ref"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tokenbench.cli.main", "reference-server", "--log", str(log_prefix)],
        stdout=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        body = {"model": "ttft_ms=30;itl_ms=5;tokens=4", "stream": True, "max_tokens": 4,
                "messages": [{"role": "user", "content": "hi"}]}  # fmt: skip
        conn.request("POST", "/v1/chat/completions", json.dumps(body),
                      {"Content-Type": "application/json"})  # fmt: skip
        resp = conn.getresponse()
        text = resp.read().decode()
        conn.close()
        assert resp.status == 200
        assert text.count('" tok"') == 4
        assert "data: [DONE]" in text
        rid = json.loads(text.split("data: ", 2)[1].split("\n", 1)[0])["id"]
        deadline = time.monotonic() + 10
        entries: list[dict[str, object]] = []
        while not entries and time.monotonic() < deadline:
            for path in tmp_path.glob("ref.*"):
                entries += [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
            time.sleep(0.02)
        (entry,) = entries
        assert entry["id"] == rid
        assert entry["outcome"] == "ok"
        chunk_ns = entry["chunk_ns"]
        assert isinstance(chunk_ns, list)
        assert len(chunk_ns) == 4
        recv_ns = entry["recv_ns"]
        assert isinstance(recv_ns, int)
        assert chunk_ns[0] - recv_ns >= 30e6  # the scripted TTFT, from the request's arrival
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
        if proc.stdout:
            proc.stdout.close()
