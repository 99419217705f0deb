from __future__ import annotations

from pathlib import Path

import pytest

from tokenbench.errors import ConfigError
from tokenbench.suites import load_suite, suite_names


def test_builtin_suites_load() -> None:
    assert {"llm.inference.chatbot-short", "llm.inference.single-prompt"} <= set(suite_names())
    s = load_suite("llm.inference.chatbot-short")
    assert (s.workload.input_tokens, s.workload.output_tokens) == (128, 128)
    assert s.ignore_eos
    assert s.temperature == 0.0
    single = load_suite("llm.inference.single-prompt")
    assert single.workload.prompt == "Explain quantum entanglement in simple terms"


def test_unknown_suite_lists_close_matches() -> None:
    with pytest.raises(ConfigError, match=r"did you mean 'llm.inference.chatbot-short'"):
        load_suite("llm.inference.chatbot-shrt")


def test_user_suite_file_and_its_errors(tmp_path: Path) -> None:
    good = tmp_path / "mine.toml"
    good.write_text(
        'name = "mine"\ndescription = "d"\n[workload]\nkind = "synthetic"\n'
        "prompts = 2\ninput_tokens = 8\noutput_tokens = 4\n"
    )
    assert load_suite(str(good)).workload.prompts == 2
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'name = "x"\ndescription = "d"\n[workload]\nkind = "synthetic"\nprompts = 2\n'
        "output_tokens = 4\n"
    )
    with pytest.raises(ConfigError, match="needs input_tokens"):
        load_suite(str(bad))
    broken = tmp_path / "broken.toml"
    broken.write_text("name = ")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_suite(str(broken))
    with pytest.raises(ConfigError, match="does not exist"):
        load_suite(str(tmp_path / "missing.toml"))
