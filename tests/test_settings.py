"""Settings: read once from the environment and ``.env``, errors in the
environment's own words."""

from __future__ import annotations

from pathlib import Path

import pytest

from storemon.settings import SettingsError, load_settings


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in ("STOREMON_DATABASE_URL", "STOREMON_PORT", "STOREMON_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_an_explicit_value_wins_over_the_environment_which_wins_over_dotenv(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (clean_env / ".env").write_text("STOREMON_DATABASE_URL=sqlite:///from-dotenv.db\n")
    assert load_settings().database_url == "sqlite:///from-dotenv.db"

    monkeypatch.setenv("STOREMON_DATABASE_URL", "sqlite:///from-env.db")
    assert load_settings().database_url == "sqlite:///from-env.db"
    assert load_settings(database_url="sqlite:///given.db").database_url == "sqlite:///given.db"


def test_without_a_url_the_default_is_a_sqlite_file_in_the_working_directory(
    clean_env: Path,
) -> None:
    assert load_settings().database_url == "sqlite:///storemon.db"


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("STOREMON_PORT", "eighty", "STOREMON_PORT: not a whole number"),
        ("STOREMON_PORT", "70000", "STOREMON_PORT: must be less than or equal to 65535"),
        ("STOREMON_API_KEY", "short", "STOREMON_API_KEY: must be at least 16 characters"),
        ("STOREMON_DATABASE_URL", "oracle://x", "STOREMON_DATABASE_URL: unsupported database"),
    ],
)
def test_a_bad_setting_is_named_by_its_environment_variable(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, words: str
) -> None:
    monkeypatch.setenv(variable, value)

    with pytest.raises(SettingsError) as caught:
        load_settings()

    assert words in str(caught.value)
    assert "Value error" not in str(caught.value) and "Input should" not in str(caught.value)
    assert "\n" not in str(caught.value)
