"""The config snapshot: a view that answers exactly as the pydantic models, keyed by the file.

``ConfigView`` mirrors the models by hand (its point is not importing them), so
the mirror is checked member by member against ``Config`` for several configs:
a field, property or method added to the models without its mirror fails here.
"""

from __future__ import annotations

import inspect
import json
import os
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from debussy.app.project import remembered_config
from debussy.config import Config, load_config, parse_config
from debussy.config_snapshot import (
    SNAPSHOT_FILE,
    ConfigView,
    fingerprint,
    read_snapshot,
)
from debussy.errors import ConfigError

CONFIGS = {
    "defaults": "",
    "github.com and cloud Jira": (
        "github:\n  repo: octo/app\n  auto_close: true\n"
        "  labels:\n    blocked: 'stuck'\n"
        "jira:\n  url: https://acme.atlassian.net\n  email_env: MY_MAIL\n"
        "  transitions:\n    failed: Rejected\n"
        "cache:\n  ttl_seconds: 60\n"
    ),
    "enterprise and a sandbox": (
        "github:\n  api_url: https://ghe.example.com/api/v3\n  token_env: GHE_TOKEN\n"
        "jira:\n  url: http://127.0.0.1:8080\n  deployment: server\n  enabled: false\n"
    ),
}


def public_members(model: type[BaseModel]) -> list[str]:
    """Every field, property and argument-less (or one-string) method a caller could use."""
    names = set(model.model_fields)
    for name, member in inspect.getmembers(model):
        if name.startswith(("_", "model_")) or hasattr(BaseModel, name):
            continue
        if isinstance(member, property) or inspect.isfunction(member):
            names.add(name)
    return sorted(names)


def same(view: Any, model: Any, where: str) -> None:
    """``view`` answers every public member of ``model`` with an equal value."""
    if not isinstance(model, BaseModel):
        assert view == model, where
        return
    for name in public_members(type(model)):
        expected = getattr(model, name)
        got = getattr(view, name)
        if inspect.ismethod(expected):
            parameters = inspect.signature(expected).parameters
            arguments = ["PROJ-7"] if parameters else []
            expected, got = expected(*arguments), got(*arguments)
        same(got, expected, f"{where}.{name}")


@pytest.mark.parametrize("text", CONFIGS.values(), ids=list(CONFIGS))
def test_the_view_answers_every_member_as_the_models_do(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {"GITHUB_TOKEN": "t1", "GHE_TOKEN": "t2", "JIRA_API_TOKEN": "t3"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("MY_MAIL", "me@example.com")
    config = parse_config(text, Path("config.yaml"))
    view = ConfigView(json.loads(json.dumps(config.model_dump(mode="json"))))
    same(view, config, "config")
    assert Config.model_validate(view.settings) == config, "the snapshot loses nothing"


def write(root: Path, text: str) -> Path:
    (root / ".debussy").mkdir(exist_ok=True)
    path = root / ".debussy" / "config.yaml"
    path.write_text(text)
    return path


def test_the_first_read_validates_and_the_next_reads_the_snapshot(tmp_path: Path) -> None:
    path = write(tmp_path, CONFIGS["github.com and cloud Jira"])
    first = remembered_config(tmp_path)
    assert isinstance(first, Config)
    second = remembered_config(tmp_path)
    assert isinstance(second, ConfigView)
    assert Config.model_validate(second.settings) == first == load_config(tmp_path)
    snapshot = tmp_path / ".debussy" / SNAPSHOT_FILE
    assert snapshot.stat().st_mode & 0o777 == 0o600
    assert read_snapshot(tmp_path / ".debussy", fingerprint(path)) is not None


def test_any_change_to_the_file_is_validated_again(tmp_path: Path) -> None:
    path = write(tmp_path, "cache:\n  ttl_seconds: 60\n")
    remembered_config(tmp_path)
    path.write_text("cache:\n  ttl_seconds: 61\n")  # a different size
    changed = remembered_config(tmp_path)
    assert isinstance(changed, Config)
    assert changed.cache.ttl_seconds == 61

    remembered_config(tmp_path)
    stat = path.stat()
    path.write_text("cache:\n  ttl_secnds: 62\n")  # the same size: the mtime tells
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    with pytest.raises(ConfigError, match=r"config\.yaml: unknown key 'cache\.ttl_secnds'"):
        remembered_config(tmp_path)


def test_a_damaged_or_foreign_snapshot_is_a_miss(tmp_path: Path) -> None:
    write(tmp_path, "cache:\n  ttl_seconds: 60\n")
    snapshot = tmp_path / ".debussy" / SNAPSHOT_FILE
    for text in ("{not json", "[]", json.dumps({"key": [1], "config": {}})):
        snapshot.write_text(text)
        assert isinstance(remembered_config(tmp_path), Config)
    assert isinstance(remembered_config(tmp_path), ConfigView)


def test_a_missing_config_file_is_remembered_as_defaults(tmp_path: Path) -> None:
    (tmp_path / ".debussy").mkdir()
    assert remembered_config(tmp_path) == Config()
    view = remembered_config(tmp_path)
    assert isinstance(view, ConfigView)
    assert Config.model_validate(view.settings) == Config()


def test_the_snapshot_holds_variable_names_never_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_secretvalue123")
    monkeypatch.setenv("JIRA_API_TOKEN", "jira-secret-456")
    write(tmp_path, CONFIGS["github.com and cloud Jira"])
    remembered_config(tmp_path)
    text = (tmp_path / ".debussy" / SNAPSHOT_FILE).read_text()
    assert "GITHUB_TOKEN" in text
    assert "ghp_secretvalue123" not in text
    assert "jira-secret-456" not in text


def test_an_unwritable_folder_only_costs_the_snapshot(tmp_path: Path) -> None:
    write(tmp_path, "cache:\n  ttl_seconds: 60\n")
    (tmp_path / ".debussy" / SNAPSHOT_FILE).mkdir()  # cannot be replaced by a file
    assert isinstance(remembered_config(tmp_path), Config)
    assert isinstance(remembered_config(tmp_path), Config)
