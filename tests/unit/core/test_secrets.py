"""Each key only where it is used (issue 15, item 13).

The pseudonymisation key reaches only the function that hashes callers (ingest); the API signs page tokens
with its own key; a function given no PII key refuses to hash rather than using the public demo key.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from contactlake import runtime as runtime_module
from contactlake.api import context, pages
from contactlake.config import ConfigError, Settings
from contactlake.ingest.parse import read_upload
from tests.fixtures.lakes import LocalLake


def test_a_function_without_the_key_parameter_gets_no_pii_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONTACTLAKE_PII_KEY_PARAM", raising=False)
    monkeypatch.delenv("CONTACTLAKE_API_TOKEN_KEY_PARAM", raising=False)
    settings = runtime_module._secrets(Settings(mode="aws"))
    assert settings.pii_key == b""
    assert settings.api_token_key == b""


def test_each_parameter_is_read_only_when_given(monkeypatch: pytest.MonkeyPatch) -> None:
    import aws_lambda_powertools.utilities.parameters as parameters

    asked: list[str] = []

    def get_parameter(name: str, decrypt: bool = False) -> str:
        asked.append(name)
        return f"secret-of-{name}"

    monkeypatch.setattr(parameters, "get_parameter", get_parameter)
    monkeypatch.setenv("CONTACTLAKE_PII_KEY_PARAM", "/contactlake/pii-key")
    monkeypatch.delenv("CONTACTLAKE_API_TOKEN_KEY_PARAM", raising=False)
    ingest = runtime_module._secrets(Settings(mode="aws"))
    assert (ingest.pii_key, ingest.api_token_key, asked) == (b"secret-of-/contactlake/pii-key", b"", asked)
    monkeypatch.delenv("CONTACTLAKE_PII_KEY_PARAM")
    monkeypatch.setenv("CONTACTLAKE_API_TOKEN_KEY_PARAM", "/contactlake/api-token-key")
    api = runtime_module._secrets(Settings(mode="aws"))
    assert (api.pii_key, api.api_token_key) == (b"", b"secret-of-/contactlake/api-token-key")
    assert asked == ["/contactlake/pii-key", "/contactlake/api-token-key"]


def test_reading_an_upload_without_a_pii_key_is_refused(tmp_path: Path) -> None:
    lake = LocalLake.create(tmp_path)
    lake.put("north/acd/calls-2024-01-15.csv", b"call_id\n")
    from contactlake.ingest.routing import route_upload

    upload = route_upload("north/acd/calls-2024-01-15.csv", lake.config, lake.ports.store)
    with pytest.raises(ConfigError, match="no pseudonymisation key"):
        next(iter(read_upload(lake.ports, upload, lake.config, replace(lake.settings, pii_key=b""))))


def test_page_tokens_are_signed_with_the_api_key_not_the_pii_key(monkeypatch: pytest.MonkeyPatch) -> None:
    class State:
        settings = Settings(mode="aws", pii_key=b"pii", api_token_key=b"tokens")

    monkeypatch.setattr(context, "state", lambda: State())
    assert context.page_secret() == pages.page_secret(b"tokens")
    assert context.page_secret() != pages.page_secret(b"pii")
    State.settings = Settings(mode="local", pii_key=b"pii")
    local = context.page_secret()
    assert local == context.page_secret() != pages.page_secret(b"pii")
    State.settings = Settings(mode="aws", pii_key=b"pii")
    with pytest.raises(Exception, match="page-token key"):
        context.page_secret()
