"""The scripted model the runner tests ask (tests/support/eval_runs.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ScriptedServer
from tests.support.eval_runs import answer_table


@pytest.fixture
def scripted_model(
    scripted_server_factory: Callable[..., ScriptedServer], tmp_path: Path
) -> ScriptedServer:
    return scripted_server_factory("--answers", str(answer_table(tmp_path)))
